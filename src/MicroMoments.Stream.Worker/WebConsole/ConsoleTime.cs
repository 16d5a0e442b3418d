using System.Globalization;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>
/// The console's one time format: UTC to the second, "2026-11-24 09:59:00 UTC", with the user's local time beside it
/// ("(10:59 local)", the date too when it differs) when the user's time zone is known.
/// </summary>
public static class ConsoleTime
{
    public static string Text(DateTimeOffset at, string? zone = null)
    {
        var utc = at.ToUniversalTime();
        var text = utc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        if (!TimeZones.IsKnown(zone) || zone is "UTC" or "Etc/UTC")
        {
            return text;
        }
        var local = TimeZones.Local(utc, zone);
        var format = local.Date == utc.Date ? "HH:mm" : "MM-dd HH:mm";
        return $"{text} ({local.ToString(format, CultureInfo.InvariantCulture)} local)";
    }

    /// <summary>Milliseconds since the Unix epoch; "-" for 0 (never).</summary>
    public static string Text(long ms, string? zone = null) => ms > 0 ? Text(DateTimeOffset.FromUnixTimeMilliseconds(ms), zone) : "-";

    /// <summary>A <c>time</c> element with the machine-readable instant and, on hover, the zone the local time is in.</summary>
    public static Markup Element(DateTimeOffset at, string? zone = null) =>
        new($"<time datetime=\"{at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}\" title=\"{Html.Text(TimeZones.IsKnown(zone) ? zone : "UTC")}\">{Html.Text(Text(at, zone))}</time>");

    public static Markup Element(long ms, string? zone = null) => ms > 0 ? Element(DateTimeOffset.FromUnixTimeMilliseconds(ms), zone) : new("-");

    /// <summary>A duration in the largest whole-ish unit: "10 min", "7 h", "1.5 d", "30 s".</summary>
    public static string Span(TimeSpan t) => t.TotalDays >= 1 ? Invariant($"{t.TotalDays:0.#} d") : t.TotalHours >= 1 ? Invariant($"{t.TotalHours:0.#} h")
        : t.TotalMinutes >= 1 ? Invariant($"{t.TotalMinutes:0.#} min") : Invariant($"{Math.Max(0, t.TotalSeconds):0} s");

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);
}
