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

    public static DateTimeOffset Local(DateTimeOffset utc, string? zone) => TimeZoneInfo.ConvertTime(utc, Find(zone));

    /// <summary>Days since the Unix epoch of the local calendar date.</summary>
    public static int LocalDay(DateTimeOffset utc, string? zone)
    {
        var local = Local(utc, zone);
        return (int)(new DateTimeOffset(local.Date, TimeSpan.Zero).ToUnixTimeSeconds() / 86400);
    }
}
