using System.Collections.Concurrent;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Cached IANA time-zone lookups; an unknown or missing zone is UTC.</summary>
public static class TimeZones
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Cache = new(StringComparer.Ordinal);

    public static TimeZoneInfo Find(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return TimeZoneInfo.Utc;
        }
        return Cache.GetOrAdd(id, static z =>
        {
            try
            {
                return TimeZoneInfo.FindSystemTimeZoneById(z);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                return TimeZoneInfo.Utc;
            }
        });
    }

    public static DateTimeOffset Local(DateTimeOffset utc, string? zone) =>
        string.IsNullOrWhiteSpace(zone) ? utc.ToOffset(TimeSpan.Zero) : TimeZoneInfo.ConvertTime(utc, Find(zone));

    /// <summary>Days since the Unix epoch of the local calendar date.</summary>
    public static int LocalDay(DateTimeOffset utc, string? zone)
    {
        if (string.IsNullOrWhiteSpace(zone))
        {
            // No zone is UTC: the day is the floor of the Unix time in days, without a conversion.
            var ms = utc.ToUnixTimeMilliseconds();
            return (int)(ms / MillisecondsPerDay - (ms % MillisecondsPerDay < 0 ? 1 : 0));
        }
        var local = Local(utc, zone);
        return (int)(new DateTimeOffset(local.Date, TimeSpan.Zero).ToUnixTimeSeconds() / 86400);
    }

    private const long MillisecondsPerDay = 86_400_000;
}
