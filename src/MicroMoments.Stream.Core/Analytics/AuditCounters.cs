using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Folds audit records (decisions and feedback) into the analytics counters the worker keeps in Redis
/// (rule id → "variant|metric" → count), so <see cref="ResponseReport.Build"/> makes the same report from a
/// decisions file as from Redis. Outcomes and reasons are open strings: one this code has never heard of
/// becomes a counter of its own name.
/// </summary>
public static class AuditCounters
{
    /// <summary>The one outcome that follows up an earlier match instead of being one: it is not counted as matched.</summary>
    public const string Cancelled = "cancelled";

    public static Dictionary<string, Dictionary<string, long>> From(IEnumerable<Decision> decisions, IEnumerable<FeedbackRecord> feedback)
    {
        var counters = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var d in decisions)
        {
            Add(counters, d);
        }
        // Once per (intervention, type), as the worker counts: a file written before it did, or put together from several
        // runs, may repeat a click, and a rate over repeats reads 133 % where one click in three was made.
        var counted = new HashSet<(string InterventionId, string Feedback)>();
        foreach (var f in feedback)
        {
            if (f.InterventionId.Length == 0 || counted.Add((f.InterventionId, f.Feedback)))
            {
                Add(counters, f);
            }
        }
        return counters;
    }

    /// <summary>The counter a decision adds to besides <c>matched</c>: its outcome, or <c>suppressed.&lt;reason&gt;</c>.</summary>
    public static string Metric(Decision d) =>
        d.Outcome == Outcomes.Suppressed ? $"{Outcomes.Suppressed}.{d.Reason}" : d.Outcome;

    /// <summary>Whether a decision is a rule matching (every outcome but a cancellation of an earlier one or another follow-up).</summary>
    public static bool IsMatch(Decision d) => d.Outcome != Cancelled && !d.FollowUp;

    /// <summary>
    /// Whether a decision adds to its outcome's counter: all but a waiting candidate produced at its slot, which its
    /// <c>deferred</c> match counted already.
    /// </summary>
    public static bool IsCounted(Decision d) => !(d.FollowUp && d.Outcome == Outcomes.Emitted);

    public static void Add(Dictionary<string, Dictionary<string, long>> counters, Decision d)
    {
        var variant = d.Variant ?? "control";
        if (IsMatch(d))
        {
            new StatIncrement(d.RuleId, variant, "matched").AddTo(counters);
        }
        if (IsCounted(d))
        {
            new StatIncrement(d.RuleId, variant, Metric(d)).AddTo(counters);
        }
        if (d.Assigned)
        {
            ArmAllocator.Assigned(d.RuleId, variant, d.At).AddTo(counters);
        }
    }

    public static void Add(Dictionary<string, Dictionary<string, long>> counters, FeedbackRecord f) =>
        new StatIncrement(f.RuleId, f.Variant, f.Feedback).AddTo(counters);
}
