using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Simulation;

/// <summary>One counter of a rule in run a and run b (<c>matched</c>, <c>emitted</c>, <c>suppressed: cooldown</c>, …).</summary>
public sealed record MetricDelta(string Metric, long A, long B)
{
    public long Difference => B - A;
}

/// <summary>A rule's counters in both runs. <see cref="Presence"/>: <c>both</c>, <c>added</c> (only in b) or <c>removed</c> (only in a).</summary>
public sealed record RuleDelta(string RuleId, string Presence, IReadOnlyList<MetricDelta> Metrics);

/// <summary>A later decision on the same intervention: its withdrawal (<c>cancelled</c>) or the end of its wait in the schedule (a follow-up).</summary>
public sealed record DecisionStep(string Outcome, string? Reason, DateTimeOffset At);

/// <summary>
/// What a decision was, for the before/after view of a changed user, and what became of it: <see cref="Then"/> holds the later
/// decisions on the same intervention id in order (<c>emitted → cancelled</c>, <c>deferred → suppressed expired</c>), empty when none.
/// </summary>
public sealed record DecisionSummary(string RuleId, string Outcome, string? Reason, DateTimeOffset At)
{
    public IReadOnlyList<DecisionStep> Then { get; init; } = [];

    /// <summary>The outcome it ended in: the last of <see cref="Then"/>, or its own when nothing followed.</summary>
    public string FinalOutcome => Then.Count > 0 ? Then[^1].Outcome : Outcome;

    /// <summary>The reason of <see cref="FinalOutcome"/>.</summary>
    public string? FinalReason => Then.Count > 0 ? Then[^1].Reason : Reason;

    public static DecisionSummary Of(Decision d) => new(d.RuleId, d.Outcome, d.Reason, d.At);
}

/// <summary>A user whose decisions differ: the first decision that differs, with what became of it, in run a (before) and run b (after); null when that run had none.</summary>
public sealed record ChangedUser(string UserId, DecisionSummary? Before, DecisionSummary? After);

/// <summary>The result of <c>simulate --compare</c>: per-rule deltas, how many users changed, the first of them.</summary>
public sealed record BackTestResult(IReadOnlyList<RuleDelta> Rules, int ChangedUserCount, IReadOnlyList<ChangedUser> ChangedUsers);

/// <summary>
/// Compares the decisions of two runs over the same events (<c>simulate --compare</c>). Pure: the runs are the caller's.
/// A user's decisions are read as matches, each with the later decisions on its intervention id (a cancellation, the
/// follow-ups of a wait); a user changed when their sequence of matches differs in rule, outcome, reason or what became of
/// it, so a command sent in both runs but withdrawn in one is a change. Users are listed by the time of their first
/// difference, then by id, so the list is stable.
/// </summary>
public static class BackTest
{
    /// <summary>
/// Rows every rule shows, zero or not, <c>cancelled</c> (commands withdrawn after they were sent) among them; suppression
/// reasons go under <c>suppressed</c>, any other outcome at the end, by name.
/// </summary>
    private static readonly string[] Fixed = ["matched", Outcomes.Emitted, Outcomes.Deferred, Outcomes.Suppressed, Outcomes.HeldOut, Outcomes.Cancelled];

    public static BackTestResult Compare(IReadOnlyList<string> rulesA, IReadOnlyList<Decision> a, IReadOnlyList<string> rulesB, IReadOnlyList<Decision> b, int listed = 20)
    {
        var countsA = Count(a);
        var countsB = Count(b);
        var inA = rulesA.ToHashSet(StringComparer.Ordinal);
        var inB = rulesB.ToHashSet(StringComparer.Ordinal);
        // File order of a, then what b adds, then rules that only the decisions name (a rule file reloaded mid-run).
        var ids = rulesA.Concat(rulesB).Concat(countsA.Keys.Order(StringComparer.Ordinal)).Concat(countsB.Keys.Order(StringComparer.Ordinal))
            .Distinct(StringComparer.Ordinal);
        var rules = ids.Select(id =>
        {
            var ma = countsA.GetValueOrDefault(id) ?? [];
            var mb = countsB.GetValueOrDefault(id) ?? [];
            var extra = ma.Keys.Concat(mb.Keys).Except(Fixed, StringComparer.Ordinal).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var reasons = extra.Where(m => m.StartsWith(ReasonPrefix, StringComparison.Ordinal));
            var order = Fixed.SelectMany(m => m == Outcomes.Suppressed ? reasons.Prepend(m) : [m]).Concat(extra.Where(m => !m.StartsWith(ReasonPrefix, StringComparison.Ordinal)));
            var metrics = order.Select(m => new MetricDelta(m, ma.GetValueOrDefault(m), mb.GetValueOrDefault(m))).ToList();
            var presence = inA.Contains(id) == inB.Contains(id) ? "both" : inB.Contains(id) ? "added" : "removed";
            return new RuleDelta(id, presence, metrics);
        }).ToList();

        var changed = Changed(a, b);
        return new BackTestResult(rules, changed.Count, changed.Take(listed).ToList());
    }

    /// <summary>
    /// rule → metric → count over all variants, from the same counters the report uses; a suppression counts as
    /// <c>suppressed</c> and as <c>suppressed: &lt;reason&gt;</c>.
    /// </summary>
    private static Dictionary<string, Dictionary<string, long>> Count(IEnumerable<Decision> decisions) =>
        AuditCounters.From(decisions, []).ToDictionary(r => r.Key, r =>
        {
            var metrics = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (field, n) in r.Value)
            {
                var metric = field[(field.IndexOf('|', StringComparison.Ordinal) + 1)..];
                if (metric.StartsWith(SuppressedPrefix, StringComparison.Ordinal))
                {
                    metrics[Outcomes.Suppressed] = metrics.GetValueOrDefault(Outcomes.Suppressed) + n;
                    metric = ReasonPrefix + metric[SuppressedPrefix.Length..];
                }
                metrics[metric] = metrics.GetValueOrDefault(metric) + n;
            }
            return metrics;
        }, StringComparer.Ordinal);

    private const string SuppressedPrefix = Outcomes.Suppressed + ".";
    private const string ReasonPrefix = Outcomes.Suppressed + ": ";

    private static List<ChangedUser> Changed(IReadOnlyList<Decision> a, IReadOnlyList<Decision> b)
    {
        var byUserA = a.ToLookup(d => d.UserId, StringComparer.Ordinal);
        var byUserB = b.ToLookup(d => d.UserId, StringComparer.Ordinal);
        var users = byUserA.Select(g => g.Key).Concat(byUserB.Select(g => g.Key)).Distinct(StringComparer.Ordinal);
        var changed = new List<ChangedUser>();
        foreach (var user in users)
        {
            var da = Matches(byUserA[user]);
            var db = Matches(byUserB[user]);
            var i = 0;
            while (i < da.Count && i < db.Count && Same(da[i], db[i]))
            {
                i++;
            }
            if (i < da.Count || i < db.Count)
            {
                changed.Add(new ChangedUser(user, i < da.Count ? da[i] : null, i < db.Count ? db[i] : null));
            }
        }
        return changed
            .OrderBy(c => Min(c.Before?.At, c.After?.At))
            .ThenBy(c => c.UserId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// A user's decisions as matches, in order, each with the later decisions on its intervention id. A cancellation or
    /// follow-up whose match is not among them (a run that began while it waited) stands as a match of its own.
    /// </summary>
    private static List<DecisionSummary> Matches(IEnumerable<Decision> decisions)
    {
        var matches = new List<(DecisionSummary Match, List<DecisionStep> Then)>();
        var byId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var d in decisions)
        {
            if (!AuditCounters.IsMatch(d) && d.InterventionId is { } id && byId.TryGetValue(id, out var at))
            {
                matches[at].Then.Add(new DecisionStep(d.Outcome, d.Reason, d.At));
                continue;
            }
            if (d.InterventionId is { } own)
            {
                byId[own] = matches.Count;
            }
            matches.Add((DecisionSummary.Of(d), []));
        }
        return matches.Select(m => m.Match with { Then = m.Then }).ToList();
    }

    private static bool Same(DecisionSummary x, DecisionSummary y) =>
        x.RuleId == y.RuleId && x.Outcome == y.Outcome && x.Reason == y.Reason
        && x.Then.Select(t => (t.Outcome, t.Reason)).SequenceEqual(y.Then.Select(t => (t.Outcome, t.Reason)));

    private static DateTimeOffset Min(DateTimeOffset? x, DateTimeOffset? y) =>
        x is { } p && y is { } q ? (p < q ? p : q) : x ?? y ?? DateTimeOffset.MaxValue;
}
