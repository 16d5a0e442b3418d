using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>One arm of a bandit experiment: its commands sent, conversions, and the posterior probability that it is the best arm.</summary>
public sealed record BanditArm(string Variant, long Sent, long Converted, double? ConversionRate, double ProbabilityBest);

/// <summary>The arms' shares of one UTC day's new assignments.</summary>
public sealed record BanditDay(string Day, long Assigned, IReadOnlyDictionary<string, double> Share);

/// <summary>A rule whose experiment allocates by bandit: its arms now, and how the new assignments moved between them day by day.</summary>
public sealed record BanditExperiment(string RuleId, IReadOnlyList<BanditArm> Arms, IReadOnlyList<BanditDay> Days);

/// <summary>
/// The bandit part of the report, from the analytics counters: a rule is a bandit's when it has <c>assigned.&lt;day&gt;</c>
/// counters (<see cref="ArmAllocator.AssignedMetric"/>). The probability that an arm is best is the share of
/// <see cref="Draws"/> joint draws from the arms' Beta(1 + conversions, 1 + sent − conversions) posteriors in which it draws
/// highest, with a fixed seed: the same counters give the same figures.
/// </summary>
public static class BanditReport
{
    public const int Draws = 20_000;

    public static IReadOnlyList<BanditExperiment> Build(IReadOnlyDictionary<string, Dictionary<string, long>> counters)
    {
        var experiments = new List<BanditExperiment>();
        foreach (var (rule, fields) in counters.Where(c => c.Key.Length > 0).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var assigned = fields.Select(f => (Field: f.Key, Bar: f.Key.IndexOf('|', StringComparison.Ordinal), Count: f.Value))
                .Where(f => f.Bar > 0 && f.Field.AsSpan(f.Bar + 1).StartsWith(ArmAllocator.AssignedMetric, StringComparison.Ordinal))
                .Select(f => (Variant: f.Field[..f.Bar], Day: f.Field[(f.Bar + 1 + ArmAllocator.AssignedMetric.Length)..], f.Count)).ToList();
            if (assigned.Count == 0)
            {
                continue;
            }
            // Every arm that was given or sent to: one the bandit has not drawn yet is still in the running.
            var names = assigned.Select(a => a.Variant)
                .Concat(fields.Keys.Where(f => f.EndsWith("|" + Outcomes.Emitted, StringComparison.Ordinal) || f.EndsWith("|" + Outcomes.Deferred, StringComparison.Ordinal))
                    .Select(f => f[..f.IndexOf('|', StringComparison.Ordinal)]))
                .Where(v => v is not (ExperimentAssignment.HoldoutVariant or GlobalControl.Variant))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var arms = names.Select(v =>
            {
                var sent = fields.GetValueOrDefault($"{v}|{Outcomes.Emitted}") + fields.GetValueOrDefault($"{v}|{Outcomes.Deferred}");
                var (bounded, converted) = new ArmCounts(sent, fields.GetValueOrDefault($"{v}|{ArmStatistics.Converted}")).Bounded;
                return (Variant: v, Sent: bounded, Converted: converted);
            }).ToList();
            var best = ProbabilityBest(arms.Select(a => (a.Sent, a.Converted)).ToList());
            var days = assigned.GroupBy(a => a.Day, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var total = g.Sum(a => a.Count);
                return new BanditDay(g.Key, total, names.ToDictionary(v => v, v => total == 0 ? 0 : (double)g.Where(a => a.Variant == v).Sum(a => a.Count) / total, StringComparer.Ordinal));
            }).ToList();
            experiments.Add(new BanditExperiment(rule,
                arms.Select((a, i) => new BanditArm(a.Variant, a.Sent, a.Converted, a.Sent > 0 ? (double)a.Converted / a.Sent : null, best[i])).ToList(), days));
        }
        return experiments;
    }

    /// <summary>Each arm's share of joint posterior draws in which it is highest (ties to the earlier arm).</summary>
    internal static double[] ProbabilityBest(IReadOnlyList<(long Sent, long Converted)> arms)
    {
        var random = new Xoshiro256StarStar(1);
        var wins = new int[arms.Count];
        for (var draw = 0; draw < Draws; draw++)
        {
            var (winner, highest) = (0, double.NegativeInfinity);
            for (var i = 0; i < arms.Count; i++)
            {
                var x = Beta.Sample(random, 1 + arms[i].Converted, 1 + arms[i].Sent - arms[i].Converted);
                if (x > highest)
                {
                    (winner, highest) = (i, x);
                }
            }
            wins[winner]++;
        }
        return [.. wins.Select(w => (double)w / Draws)];
    }
}
