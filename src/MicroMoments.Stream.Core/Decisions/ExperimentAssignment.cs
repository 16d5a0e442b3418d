using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Deterministic experiment assignment: a SHA-256 of experiment and user picks a point in [0, 1); the
/// first <see cref="ExperimentSpec.Holdout"/> of it is held out, the rest is split by variant weight.
/// Stable across restarts and instances, and independent between experiments.
/// </summary>
public static class ExperimentAssignment
{
    public const string HoldoutVariant = "holdout";

    public static (string Variant, VariantSpec? Spec) Assign(string userId, ExperimentSpec experiment)
    {
        var point = Point(userId, experiment.Name);
        if (point < experiment.Holdout)
        {
            return (HoldoutVariant, null);
        }
        var total = experiment.Variants.Sum(v => v.Weight);
        var x = (point - experiment.Holdout) / (1 - experiment.Holdout) * total;
        foreach (var v in experiment.Variants)
        {
            if (x < v.Weight)
            {
                return (v.Name, v);
            }
            x -= v.Weight;
        }
        return (experiment.Variants[^1].Name, experiment.Variants[^1]);
    }

    /// <summary>The user's point in [0, 1) for the experiment: below the holdout share is the holdout.</summary>
    internal static double Point(string userId, string experiment)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{experiment}\n{userId}"));
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }
}
