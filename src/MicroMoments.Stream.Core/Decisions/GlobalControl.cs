using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The global control group (<c>policies.globalControl</c>): a stable share of users held out of every rule, by a
/// SHA-256 of the user id alone. No rule id, experiment name or rules version goes into it, so the same users stay in
/// control across rules, reloads and instances, and the group is independent of every experiment's holdout.
/// </summary>
public static class GlobalControl
{
    /// <summary>The variant a control user's ghosts are counted under, per rule (<c>report</c> sums them for the overall uplift).</summary>
    public const string Variant = "global_control";

    // A salt no experiment name can equal (names are single-line), so the point is not an experiment's point.
    private const string Salt = "micromoments/global-control\n\n";

    /// <summary>True when the user is in a control group of this share (0 ≤ share &lt; 1): the user's point lies below it.</summary>
    public static bool Contains(string userId, double share) => share > 0 && Point(userId) < share;

    /// <summary>The user's point in [0, 1): a larger share keeps every user a smaller one held out.</summary>
    public static double Point(string userId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Salt + userId));
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }
}
