using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Quiet hours and preferred send windows, in the user's time zone.</summary>
public static class SendTime
{
    /// <summary>The first moment at or after <paramref name="at"/> that lies inside <paramref name="window"/>.</summary>
    public static DateTimeOffset NextInside(DateTimeOffset at, TimeWindow window, string? zone) =>
        Next(at, zone, window.Contains, window.From);

    /// <summary>The first moment at or after <paramref name="at"/> that lies outside <paramref name="window"/>.</summary>
    public static DateTimeOffset NextOutside(DateTimeOffset at, TimeWindow window, string? zone) =>
        Next(at, zone, t => !window.Contains(t), window.To);

    private static DateTimeOffset Next(DateTimeOffset at, string? zone, Func<TimeSpan, bool> ok, TimeSpan boundary)
    {
        var tz = TimeZones.Find(zone);
        var local = TimeZoneInfo.ConvertTime(at, tz);
        if (ok(local.TimeOfDay))
        {
            return at;
        }
        var candidate = local.Date + boundary;
        if (candidate <= local.DateTime)
        {
            candidate = candidate.AddDays(1);
        }
        candidate = DateTime.SpecifyKind(candidate, DateTimeKind.Unspecified);
        if (tz.IsInvalidTime(candidate))
        {
            candidate = candidate.AddHours(1); // the boundary falls in a daylight-saving gap
        }
        var utc = TimeZoneInfo.ConvertTimeToUtc(candidate, tz);
        return new DateTimeOffset(utc, TimeSpan.Zero);
    }
}
