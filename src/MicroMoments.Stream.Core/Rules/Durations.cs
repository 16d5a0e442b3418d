using System.Globalization;
using System.Xml;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>Parses rule-file durations: ISO-8601 (<c>PT10M</c>, <c>P7D</c>) or short forms (<c>90s</c>, <c>10m</c>, <c>48h</c>, <c>7d</c>).</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        if (text[0] is 'P' or 'p')
        {
            try
            {
                value = XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return value > TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
        }
        var unit = text[^1];
        if (!double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }
        value = unit switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.Zero,
        };
        return value > TimeSpan.Zero;
    }

    /// <summary>Formats as ISO-8601, the form used on the wire (<c>"window":"PT10M"</c>).</summary>
    public static string ToIso(TimeSpan value) => XmlConvert.ToString(value);
}
