using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The experiment arm of a user's candidate. <c>allocation: weights</c> (the default) splits by a stable hash
/// (<see cref="ExperimentAssignment"/>). <c>allocation: bandit</c> keeps the same hash holdout, then gives a user's first exposure
/// the arm with the highest draw from each arm's Beta(1 + conversions, 1 + sent − conversions) posterior (Thompson sampling) and
/// keeps it for the user (<see cref="UserState.BanditArms"/>). The draws are seeded by the experiment, the user id and the
/// experiment's exposures so far, so <c>simulate</c> assigns the same arms on every run.
/// </summary>
public static class ArmAllocator
{
    /// <summary>The metric prefix of a bandit's new assignments per UTC day (<c>assigned.2026-11-24</c>): each arm's share over time.</summary>
    public const string AssignedMetric = "assigned.";

    /// <summary>The user's arm, and whether the bandit gave it just now (it is kept in the state: <see cref="UserState.BanditArms"/>).</summary>
    public static (string Variant, bool Assigned) Assign(UserState state, Rule rule, ExperimentSpec experiment, ArmStatistics statistics)
    {
        if (!experiment.Bandit)
        {
            return (ExperimentAssignment.Assign(state.UserId, experiment).Variant, false);
        }
        if (Kept(state, experiment) is { } kept)
        {
            return (kept, false);
        }
        if (ExperimentAssignment.Point(state.UserId, experiment.Name) < experiment.Holdout)
        {
            return (ExperimentAssignment.HoldoutVariant, false); // the holdout stays fixed, outside the bandit
        }
        var arm = Sample(state.UserId, rule.Id, experiment, statistics);
        (state.BanditArms ??= new Dictionary<string, string>(StringComparer.Ordinal))[experiment.Name] = arm;
        return (arm, true);
    }

    /// <summary>The counter of a new assignment on the UTC day of <paramref name="at"/>: each arm's share over time.</summary>
    public static StatIncrement Assigned(string ruleId, string variant, DateTimeOffset at) =>
        new(ruleId, variant, AssignedMetric + at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    /// <summary>The arm without assigning one: the kept arm, the holdout, or (never assigned) the weights' arm.</summary>
    public static string Peek(UserState state, ExperimentSpec experiment) =>
        experiment.Bandit && Kept(state, experiment) is { } kept ? kept : ExperimentAssignment.Assign(state.UserId, experiment).Variant;

    /// <summary>The kept arm, while the experiment still has it (a loop: this runs for every candidate of the rule).</summary>
    private static string? Kept(UserState state, ExperimentSpec experiment)
    {
        if (state.BanditArms?.GetValueOrDefault(experiment.Name) is not { } arm)
        {
            return null;
        }
        foreach (var v in experiment.Variants)
        {
            if (v.Name == arm)
            {
                return v.Name;
            }
        }
        return null;
    }

    /// <summary>The arm with the highest posterior draw; ties go to the earlier arm.</summary>
    internal static string Sample(string userId, string ruleId, ExperimentSpec experiment, ArmStatistics statistics)
    {
        long exposures = 0;
        var arms = new (string Name, long Sent, long Converted)[experiment.Variants.Count];
        for (var i = 0; i < arms.Length; i++)
        {
            var (sent, converted) = statistics.Of(ruleId, experiment.Variants[i].Name).Bounded;
            arms[i] = (experiment.Variants[i].Name, sent, converted);
            exposures += sent;
        }
        var random = new Xoshiro256StarStar(Seed(experiment.Name, userId, exposures));
        var best = (Name: arms[0].Name, Draw: double.NegativeInfinity);
        foreach (var (name, sent, converted) in arms)
        {
            var draw = Beta.Sample(random, 1 + converted, 1 + sent - converted);
            if (draw > best.Draw)
            {
                best = (name, draw);
            }
        }
        return best.Name;
    }

    private static int Seed(string experiment, string userId, long exposures)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{experiment}\n{userId}\n{exposures}");
        var bytes = Encoding.UTF8.GetBytes(text);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return BinaryPrimitives.ReadInt32BigEndian(hash);
    }
}
