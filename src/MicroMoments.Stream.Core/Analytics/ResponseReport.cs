using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>The counters of one rule and variant.</summary>
public sealed record VariantCounts(
    string RuleId, string Variant, long Matched, long Emitted, long Deferred, long HeldOut,
    long Delivered, long Displayed, long Clicked, long Dismissed, long Converted, IReadOnlyDictionary<string, long> Suppressed,
    long Cancelled = 0)
{
    /// <summary>Commands sent (emitted or deferred); for the holdout and the global control group, the ghosts.</summary>
    public long Treated => Variant is "holdout" or GlobalControl.Variant ? HeldOut : Emitted + Deferred;

    /// <summary>What the user could react to: delivered when delivery services report it, else sent.</summary>
    public long Exposed => Delivered > 0 ? Delivered : Emitted + Deferred;
}

/// <summary>Rates of one rule and variant, compared with the control and the holdout of the same rule.</summary>
public sealed record VariantReport(
    VariantCounts Counts, double? ClickThrough, double? DismissalRate, double? ConversionRate,
    Comparison? ClickThroughVsControl, Comparison? ConversionVsControl, Comparison? ConversionVsHoldout);

/// <summary>How often a rule triggers: the triage view.</summary>
public sealed record TriggerFrequency(string RuleId, long Matched, double Share, long Emitted, long Suppressed);

/// <summary>
/// The overall uplift of the global control group (<c>policies.globalControl</c>): the conversion of every command sent
/// to treated users against that of the control users' ghosts, summed over the rules that have control ghosts.
/// </summary>
public sealed record OverallUplift(long Sent, long SentConverted, long Ghosts, long GhostsConverted, double? TreatedRate, double? ControlRate,
    Comparison? Uplift);

/// <summary>
/// The <c>report</c> command's content; <see cref="Overall"/> is null without a global control group; <see cref="Bandits"/> are
/// the rules whose experiment allocates by bandit (<see cref="BanditReport"/>).
/// </summary>
public sealed record Report(IReadOnlyList<VariantReport> Variants, IReadOnlyList<TriggerFrequency> Triggers, RetentionReport Retention,
    OverallUplift? Overall = null)
{
    public IReadOnlyList<BanditExperiment> Bandits { get; init; } = [];

    /// <summary>Per rule, the last 48 hours of each <see cref="HourlyOutcomes.Series"/> (the console's charts); empty where not read.</summary>
    public IReadOnlyDictionary<string, long[][]> Hourly { get; init; } = new Dictionary<string, long[][]>();
}

/// <summary>
/// Builds the report from the analytics counters (rule id, "" for retention → "variant|metric" → count): the responses
/// here, the retention tables by <see cref="RetentionTables"/>.
/// </summary>
public static class ResponseReport
{
    public static Report Build(IReadOnlyDictionary<string, Dictionary<string, long>> counters)
    {
        var variants = new List<VariantReport>();
        var triggers = new List<TriggerFrequency>();
        foreach (var (rule, fields) in counters.Where(c => c.Key.Length > 0).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var counts = fields.GroupBy(f => f.Key[..f.Key.IndexOf('|', StringComparison.Ordinal)], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => Counts(rule, g.Key, g.ToDictionary(f => f.Key[(g.Key.Length + 1)..], f => f.Value)), StringComparer.Ordinal);
            counts.TryGetValue("control", out var control);
            counts.TryGetValue("holdout", out var holdout);
            foreach (var c in counts.Values.OrderBy(c => c.Variant == "control" ? "" : c.Variant, StringComparer.Ordinal))
            {
                variants.Add(new VariantReport(c,
                    Rate(c.Clicked, c.Exposed), Rate(c.Dismissed, c.Exposed), Rate(c.Converted, c.Treated),
                    c == control || control is null || c.Variant is "holdout" or GlobalControl.Variant ? null : ProportionTest.Compare(c.Clicked, c.Exposed, control.Clicked, control.Exposed, "control"),
                    c == control || control is null ? null : ProportionTest.Compare(c.Converted, c.Treated, control.Converted, control.Treated, "control"),
                    c == holdout || holdout is null ? null : ProportionTest.Compare(c.Converted, c.Treated, holdout.Converted, holdout.Treated, "holdout")));
            }
            triggers.Add(new TriggerFrequency(rule, counts.Values.Sum(c => c.Matched), 0,
                counts.Values.Sum(c => c.Emitted + c.Deferred), counts.Values.Sum(c => c.Suppressed.Values.Sum())));
        }
        var total = Math.Max(1, triggers.Sum(t => t.Matched));
        triggers = triggers.Select(t => t with { Share = (double)t.Matched / total }).OrderByDescending(t => t.Matched).ThenBy(t => t.RuleId, StringComparer.Ordinal).ToList();

        return new Report(variants, triggers, RetentionTables.Build(counters), Overall(variants)) { Bandits = BanditReport.Build(counters) };
    }

    /// <summary>
    /// Treated: the commands of every variant but the rule holdouts', of the rules with control ghosts (a rule the control
    /// group never reached has nothing to compare with). Null when no rule has control ghosts.
    /// </summary>
    private static OverallUplift? Overall(List<VariantReport> variants)
    {
        var controlled = variants.Where(v => v.Counts.Variant == GlobalControl.Variant && v.Counts.HeldOut > 0)
            .Select(v => v.Counts.RuleId).ToHashSet(StringComparer.Ordinal);
        if (controlled.Count == 0)
        {
            return null;
        }
        long sent = 0, sentConverted = 0, ghosts = 0, ghostsConverted = 0;
        foreach (var c in variants.Select(v => v.Counts).Where(c => controlled.Contains(c.RuleId)))
        {
            if (c.Variant == GlobalControl.Variant)
            {
                (ghosts, ghostsConverted) = (ghosts + c.HeldOut, ghostsConverted + c.Converted);
            }
            else if (c.Variant != "holdout")
            {
                (sent, sentConverted) = (sent + c.Treated, sentConverted + c.Converted);
            }
        }
        return new OverallUplift(sent, sentConverted, ghosts, ghostsConverted, Rate(sentConverted, sent), Rate(ghostsConverted, ghosts),
            ProportionTest.Compare(sentConverted, sent, ghostsConverted, ghosts, GlobalControl.Variant));
    }

    private static VariantCounts Counts(string rule, string variant, Dictionary<string, long> m) => new(
        rule, variant, m.GetValueOrDefault("matched"), m.GetValueOrDefault("emitted"), m.GetValueOrDefault("deferred"), m.GetValueOrDefault("held_out"),
        m.GetValueOrDefault("delivered"), m.GetValueOrDefault("displayed"), m.GetValueOrDefault("clicked"), m.GetValueOrDefault("dismissed"),
        m.GetValueOrDefault("converted"),
        m.Where(f => f.Key.StartsWith("suppressed.", StringComparison.Ordinal)).ToDictionary(f => f.Key["suppressed.".Length..], f => f.Value, StringComparer.Ordinal),
        m.GetValueOrDefault("cancelled"));

    private static double? Rate(long x, long n) => n > 0 ? (double)x / n : null;
}
