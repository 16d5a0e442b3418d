using System.Collections.Concurrent;
using System.Collections.Frozen;
using NodaTime;
using NodaTime.TimeZones;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Time zones from the tz database embedded in NodaTime, never the machine's zoneinfo: no file access per event,
/// the same answer on every machine, and nothing an event names can make a lookup throw. An unknown or missing
/// zone is UTC.
/// </summary>
public static class TimeZones
{
    /// <summary>Longer than any IANA or Windows zone id: a longer string is unknown without a lookup.</summary>
    public const int MaxIdLength = 64;

    /// <summary>Every id accepted (IANA ids, and Windows ids as .NET accepts them) and the tzdb id it stands for: a fixed set.</summary>
    private static readonly FrozenDictionary<string, string> Known = BuildKnown();

    /// <summary>Keyed only by ids in <see cref="Known"/>, so it is bounded by the database, not by what events send.</summary>
    private static readonly ConcurrentDictionary<string, DateTimeZone> Zones = new(StringComparer.Ordinal);

    /// <summary>
    /// True when every cached key is a database id (for tests: what events send never becomes a key). Other tests
    /// resolve real zones at the same time, so a count would race; this does not.
    /// </summary>
    internal static bool CachesOnlyDatabaseIds =>
        Zones.Keys.All(k => k.Length <= MaxIdLength && DateTimeZoneProviders.Tzdb.Ids.Contains(k, StringComparer.Ordinal));

    /// <summary>The tz database's version (e.g. 2025b), for diagnostics and `simulate`.</summary>
    public static string DatabaseVersion => TzdbDateTimeZoneSource.Default.TzdbVersion;

    /// <summary>True when <paramref name="id"/> names a zone of the embedded database.</summary>
    public static bool IsKnown(string? id) => id is { Length: > 0 and <= MaxIdLength } && Known.ContainsKey(id);

    /// <summary>The zone <paramref name="id"/> names; UTC when it is missing or unknown.</summary>
    public static DateTimeZone Find(string? id)
    {
        if (id is not { Length: > 0 and <= MaxIdLength } || !Known.TryGetValue(id, out var tzdbId))
        {
            return DateTimeZone.Utc;
        }
        return Zones.GetOrAdd(tzdbId, static z => DateTimeZoneProviders.Tzdb[z]);
    }

    /// <summary>The local date and time at <paramref name="utc"/> in <paramref name="zone"/>.</summary>
    public static DateTime Local(DateTimeOffset utc, string? zone) =>
        IsKnown(zone) ? Instant.FromDateTimeOffset(utc).InZone(Find(zone)).LocalDateTime.ToDateTimeUnspecified() : utc.UtcDateTime;

    /// <summary>Days since the Unix epoch of the local calendar date.</summary>
    public static int LocalDay(DateTimeOffset utc, string? zone)
    {
        if (!IsKnown(zone))
        {
            // UTC: the day is the floor of the Unix time in days, without a conversion.
            var ms = utc.ToUnixTimeMilliseconds();
            return (int)(ms / MillisecondsPerDay - (ms % MillisecondsPerDay < 0 ? 1 : 0));
        }
        return Instant.FromDateTimeOffset(utc).InZone(Find(zone)).Date.ToDateOnly().DayNumber - EpochDayNumber;
    }

    /// <summary>
    /// The Unix milliseconds of local midnight <paramref name="daysBack"/> days before the local date at <paramref name="utc"/>
    /// (or the first moment of that day, where a DST change skips midnight).
    /// </summary>
    public static long StartOfLocalDay(DateTimeOffset utc, string? zone, int daysBack)
    {
        var tz = Find(zone);
        var date = Instant.FromDateTimeOffset(utc).InZone(tz).Date.PlusDays(-daysBack);
        return tz.AtStartOfDay(date).ToInstant().ToUnixTimeMilliseconds();
    }

    private static FrozenDictionary<string, string> BuildKnown()
    {
        var source = TzdbDateTimeZoneSource.Default;
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (windowsId, tzdbId) in source.WindowsMapping.PrimaryMapping)
        {
            known[windowsId] = tzdbId;
        }
        foreach (var id in source.GetIds())
        {
            known[id] = id;
        }
        return known.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private const long MillisecondsPerDay = 86_400_000;
    private static readonly int EpochDayNumber = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
}
