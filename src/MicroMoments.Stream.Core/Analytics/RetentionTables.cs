using System.Globalization;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Builds the retention tables from the retention counters (rule id "" of the analytics counters, see
/// <see cref="RetentionCounting"/>), whichever source they were summed from: Redis, or <see cref="RetentionEvents"/>.
/// </summary>
public static class RetentionTables
{
    private static readonly int Epoch = new DateOnly(1970, 1, 1).DayNumber;

    public static RetentionReport Build(IReadOnlyDictionary<string, Dictionary<string, long>> counters)
    {
        // (group suffix: "" for sign-ups, ".arm:rule" otherwise) → first day → counts (entered, then retained per day).
        var groups = new Dictionary<string, SortedDictionary<long, long[]>>(StringComparer.Ordinal);
        long? through = null;
        var days = RetentionCounting.Days;
        foreach (var (field, count) in counters.GetValueOrDefault("") ?? [])
        {
            var bar = field.IndexOf('|', StringComparison.Ordinal);
            if (bar < 0 || !DateOnly.TryParseExact(field[..bar], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                continue;
            }
            var day = date.DayNumber - Epoch;
            var metric = field[(bar + 1)..];
            if (metric == RetentionCounting.Active)
            {
                through = count > 0 && (through is null || day > through) ? day : through;
                continue;
            }
            if (Slot(metric) is not var (suffix, slot))
            {
                continue; // a counter of an older version (retained_w1) or of no retention table
            }
            if (!groups.TryGetValue(suffix, out var byDay))
            {
                groups[suffix] = byDay = [];
            }
            if (!byDay.TryGetValue(day, out var counts))
            {
                byDay[day] = counts = new long[days.Length + 1];
            }
            counts[slot] += count;
        }

        var cohorts = new List<RetentionCurve>();
        RetentionCurve? all = null;
        if (groups.TryGetValue("", out var signUps))
        {
            cohorts.AddRange(signUps.Select(d => Curve(DayName(d.Key), [d], through)));
            all = Curve("all", signUps, through);
        }
        var arms = groups.Keys.Where(k => k.Length > 0).Select(k => RetentionArms.Parse(k[1..])!.Value)
            .GroupBy(a => a.RuleId, StringComparer.Ordinal)
            .OrderBy(g => g.Key == RetentionArms.Program ? "" : g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                RetentionCurve? Arm(string arm) =>
                    groups.TryGetValue(RetentionArms.Suffix(arm, g.Key), out var byDay) ? Curve(arm, byDay, through) : null;
                var treated = Arm(RetentionArms.Treated);
                var control = Arm(RetentionArms.GlobalControl);
                var holdout = Arm(RetentionArms.Holdout);
                return new ArmRetention(g.Key, treated, control, holdout, Against(treated, control), Against(treated, holdout));
            })
            .ToList();
        return new RetentionReport(through is { } t ? DayName(t) : null, days, cohorts, all, arms);
    }

    /// <summary>Which count a metric is: (group suffix, 0 for entered or signed up, i + 1 for retained at Days[i]).</summary>
    private static (string Suffix, int Slot)? Slot(string metric)
    {
        if (metric == RetentionCounting.SignedUp)
        {
            return ("", 0);
        }
        if (metric.StartsWith(RetentionCounting.Entered + ".", StringComparison.Ordinal))
        {
            var suffix = metric[RetentionCounting.Entered.Length..];
            return RetentionArms.Parse(suffix[1..]) is null ? null : (suffix, 0);
        }
        for (var i = 0; i < RetentionCounting.Days.Length; i++)
        {
            var name = RetentionCounting.Retained(i);
            if (metric == name)
            {
                return ("", i + 1);
            }
            if (metric.StartsWith(name + ".", StringComparison.Ordinal))
            {
                var suffix = metric[name.Length..];
                return RetentionArms.Parse(suffix[1..]) is null ? null : (suffix, i + 1);
            }
        }
        return null;
    }

    /// <summary>A curve over cohorts by first day: day N counts the cohorts whose first day + N is observed.</summary>
    private static RetentionCurve Curve(string name, IEnumerable<KeyValuePair<long, long[]>> byDay, long? through)
    {
        var list = byDay.ToList();
        var cells = RetentionCounting.Days.Select((n, i) =>
        {
            var observable = list.Where(d => through is { } t && d.Key + n <= t).ToList();
            var users = observable.Sum(d => d.Value[0]);
            var retained = observable.Sum(d => d.Value[i + 1]);
            return new RetentionCell(n, retained, users, RateInterval.Of(retained, users));
        }).ToList();
        return new RetentionCurve(name, list.Sum(d => d.Value[0]), cells);
    }

    private static List<Comparison?> Against(RetentionCurve? treated, RetentionCurve? control) =>
        RetentionCounting.Days.Select((_, i) => treated is null || control is null ? null
            : ProportionTest.Compare(treated.Cells[i].Retained, treated.Cells[i].Users, control.Cells[i].Retained, control.Cells[i].Users, control.Name)).ToList();

    private static string DayName(long day) =>
        DateOnly.FromDayNumber(Epoch + (int)day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
