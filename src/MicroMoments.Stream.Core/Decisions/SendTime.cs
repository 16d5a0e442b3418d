using MicroMoments.Stream.Core.Rules;
using NodaTime;
using NodaTime.TimeZones;

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

    /// <summary>The next local <paramref name="hour"/>:00 after <paramref name="at"/> (later today or tomorrow), resolved as a window boundary.</summary>
    public static DateTimeOffset NextHour(DateTimeOffset at, int hour, string? zone) =>
        Next(at, zone, static _ => false, TimeSpan.FromHours(hour));

    /// <summary>A boundary in a daylight-saving gap moves forward by the gap; in an overlap it is the later instant (standard time).</summary>
    private static readonly ZoneLocalMappingResolver Resolver = Resolvers.CreateMappingResolver(Resolvers.ReturnLater, Resolvers.ReturnForwardShifted);

    private static DateTimeOffset Next(DateTimeOffset at, string? zone, Func<TimeSpan, bool> ok, TimeSpan boundary)
    {
        var tz = TimeZones.Find(zone);
        var local = Instant.FromDateTimeOffset(at).InZone(tz).LocalDateTime;
        if (ok(TimeSpan.FromTicks(local.TickOfDay)))
        {
            return at;
        }
        var candidate = local.Date.AtMidnight().PlusTicks(boundary.Ticks);
        if (candidate <= local)
        {
            candidate = candidate.PlusDays(1);
        }
        return tz.ResolveLocal(candidate, Resolver).ToInstant().ToDateTimeOffset();
    }
}
