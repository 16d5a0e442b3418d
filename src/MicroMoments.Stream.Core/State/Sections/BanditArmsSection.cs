using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 24, bandit arms: the arm each <c>allocation: bandit</c> experiment gave the user (experiment → variant), so the
/// user keeps it (<see cref="Decisions.ArmAllocator"/>). Kept by older readers: the arm a user saw must not change.
/// </summary>
internal sealed class BanditArmsSection : StateSection
{
    public override int Id => 24;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.BanditArms is null;

    public override void Write(StateWriter w, UserState s) => w.Map(s.BanditArms!);

    public override void Read(ref StateReader r, UserState s) => s.BanditArms = r.StringMap(static (ref StateReader x) => x.String());

    public override long UpperBoundBytes(UserState s) => MaxTextsByNameBytes(s.BanditArms);

    /// <summary>The identified user's arm wins: it is the one they were shown.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var (experiment, arm) in from.BanditArms ?? [])
        {
            (into.BanditArms ??= new Dictionary<string, string>(StringComparer.Ordinal)).TryAdd(experiment, arm);
        }
    }
}
