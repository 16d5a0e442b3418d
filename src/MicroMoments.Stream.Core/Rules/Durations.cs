using System.Globalization;
using System.Xml;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>Parses rule-file durations: ISO-8601 (<c>PT10M</c>, <c>P7D</c>) or short forms (<c>90s</c>, <c>10m</c>, <c>48h</c>, <c>7d</c>).</summary>
public static class Durations
{
    /// <summary>
    /// The longest duration a rules file may name. Every timer, window and expiry is added to an event's time,
    /// so an unbounded one overflows the calendar; a year and a day covers every yearly rule.
    /// </summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(366);

    private const string NotADuration = "is not a duration (90s, 10m, 48h, 7d or PT10M)";
    private const string TooLong = "is longer than the maximum of 366 days (366d, P366D)";

    public static bool TryParse(string? text, out TimeSpan value) => TryParse(text, out value, out _);

    /// <summary>Parses a positive duration of at most <see cref="Max"/>; otherwise says why not. Never throws.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string? error)
    {
        value = default;
        error = NotADuration;
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
            }
            catch (FormatException)
            {
                return false;
            }
            catch (OverflowException)
            {
                error = TooLong;
                return false;
            }
            return Check(ref value, ref error);
        }
        var unitSeconds = text[^1] switch
        {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => 0.0,
        };
        if (unitSeconds == 0
            || !double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            || !double.IsFinite(n) || n <= 0)
        {
            return false;
        }
        // Checked before TimeSpan sees it: TimeSpan.FromDays(1e300) throws.
        if (n * unitSeconds > Max.TotalSeconds)
        {
            error = TooLong;
            return false;
        }
        value = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
        return Check(ref value, ref error);
    }

    private static bool Check(ref TimeSpan value, ref string? error)
    {
        if (value > Max)
        {
            error = TooLong;
            return false;
        }
        if (value <= TimeSpan.Zero)
        {
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>
    /// The whole number of days a cap's <c>per</c> names in days (<c>1d</c>, <c>7d</c>, <c>P1D</c>): such a cap counts calendar days in
    /// the user's time zone. Any other form (<c>24h</c>, <c>1.5d</c>, <c>PT24H</c>) is rolling: 0.
    /// </summary>
    public static int CalendarDays(string? text)
    {
        var t = (text ?? "").AsSpan().Trim();
        var digits = t.Length > 2 && t[0] is 'P' or 'p' && t[^1] is 'D' or 'd' ? t[1..^1]
            : t.Length > 1 && t[^1] == 'd' ? t[..^1]
            : [];
        return digits.Length is > 0 and <= 3 && !digits.ContainsAnyExceptInRange('0', '9')
            && int.Parse(digits, CultureInfo.InvariantCulture) is var days and > 0 and <= 366 ? days : 0;
    }

    /// <summary>Formats as ISO-8601, the form used on the wire (<c>"window":"PT10M"</c>).</summary>
    public static string ToIso(TimeSpan value) => XmlConvert.ToString(value);
}
