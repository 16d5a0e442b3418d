using System.Globalization;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Each rule's outcomes per UTC hour, for the console's 48-hour charts: matched, sent (emitted or deferred), suppressed and
/// cancelled. A process counts its batches' analytics counters by the hour they were decided in (<see cref="Observe"/>); the
/// worker adds them to one Redis hash per hour every few seconds (<see cref="TakePending"/>), which expires after
/// <see cref="Hours"/> + 2 hours. Advisory, like the bandit's arm counts: a batch decided again after a crash counts twice.
/// </summary>
public sealed class HourlyOutcomes
{
    /// <summary>The series, in drawing order.</summary>
    public static readonly IReadOnlyList<string> Series = ["matched", "sent", "suppressed", "cancelled"];

    /// <summary>How many hours a chart covers, ending with the current one.</summary>
    public const int Hours = 48;

    private readonly Lock _lock = new();
    private Dictionary<string, Dictionary<string, long>> _pending = new(StringComparer.Ordinal);

    /// <summary>The hash key part of the UTC hour of <paramref name="at"/>: <c>2026120714</c>.</summary>
    public static string HourOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);

    /// <summary>Counts a batch's analytics counters (rule id → "variant|metric" → count) into the hour of <paramref name="now"/>.</summary>
    public void Observe(IReadOnlyDictionary<string, Dictionary<string, long>> counters, DateTimeOffset now)
    {
        var hour = HourOf(now);
        lock (_lock)
        {
            foreach (var (rule, fields) in counters)
            {
                if (rule.Length == 0)
                {
                    continue; // cohort counters: not a rule's
                }
                foreach (var (field, n) in fields)
                {
                    if (SeriesOf(field.AsSpan(field.IndexOf('|', StringComparison.Ordinal) + 1)) is { } series)
                    {
                        var into = _pending.TryGetValue(hour, out var h) ? h : _pending[hour] = new Dictionary<string, long>(StringComparer.Ordinal);
                        var key = $"{rule}|{series}";
                        into[key] = into.GetValueOrDefault(key) + n;
                    }
                }
            }
        }
    }

    /// <summary>What was observed since the last call: hour → "rule|series" → count.</summary>
    public Dictionary<string, Dictionary<string, long>> TakePending()
    {
        lock (_lock)
        {
            var pending = _pending;
            _pending = new(StringComparer.Ordinal);
            return pending;
        }
    }

    /// <summary>The series a metric adds to, or null for one the charts leave out (held out, feedback, assignments).</summary>
    public static string? SeriesOf(ReadOnlySpan<char> metric) =>
        metric.SequenceEqual("matched") ? "matched"
        : metric.SequenceEqual(Outcomes.Emitted) || metric.SequenceEqual(Outcomes.Deferred) ? "sent"
        : metric.StartsWith(Outcomes.Suppressed + ".") ? "suppressed"
        : metric.SequenceEqual(Outcomes.Cancelled) ? "cancelled"
        : null;

    /// <summary>
    /// Per rule, each series' counts for the <see cref="Hours"/> hours ending with the hour of <paramref name="now"/>, oldest
    /// first, from the hourly hashes (hour → "rule|series" → count).
    /// </summary>
    public static IReadOnlyDictionary<string, long[][]> Chart(IReadOnlyDictionary<string, Dictionary<string, long>> byHour, DateTimeOffset now)
    {
        var charts = new Dictionary<string, long[][]>(StringComparer.Ordinal);
        var hours = HoursBefore(now).ToList();
        for (var i = 0; i < Hours; i++)
        {
            foreach (var (field, n) in byHour.GetValueOrDefault(hours[i]) ?? [])
            {
                var bar = field.LastIndexOf('|');
                var series = bar > 0 ? IndexOf(field.AsSpan(bar + 1)) : -1;
                if (series < 0)
                {
                    continue; // not a field this version writes
                }
                var rule = field[..bar];
                var chart = charts.TryGetValue(rule, out var c) ? c : charts[rule] = [.. Series.Select(_ => new long[Hours])];
                chart[series][i] += n;
            }
        }
        return charts;
    }

    /// <summary>The hours <see cref="Chart"/> reads for <paramref name="now"/>, oldest first.</summary>
    public static IEnumerable<string> HoursBefore(DateTimeOffset now)
    {
        var first = new DateTimeOffset(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour), TimeSpan.Zero).AddHours(1 - Hours);
        return Enumerable.Range(0, Hours).Select(i => HourOf(first.AddHours(i)));
    }

    private static int IndexOf(ReadOnlySpan<char> series)
    {
        for (var i = 0; i < Series.Count; i++)
        {
            if (series.SequenceEqual(Series[i]))
            {
                return i;
            }
        }
        return -1;
    }
}
