using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 14, dismissal pauses: dismissals per rule since its last pause, the rules paused with their end, and with
/// <c>scope: user</c> the user-wide count of distinct dismissals and the user-wide pause's end.
/// </summary>
internal sealed class DismissalPausesSection : StateSection
{
    private const int HasDismissals = 1, HasPaused = 2, HasUserDismissals = 4, HasUserPaused = 8;

    public override int Id => 14;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Dismissals is null && s.RulePausedUntil is null && s.UserDismissals == 0 && s.UserPausedUntil == 0;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.Dismissals is null ? 0 : HasDismissals) | (s.RulePausedUntil is null ? 0 : HasPaused)
            | (s.UserDismissals == 0 ? 0 : HasUserDismissals) | (s.UserPausedUntil == 0 ? 0 : HasUserPaused)));
        if (s.Dismissals is { } dismissals)
        {
            w.Map(dismissals, shared: true);
        }
        if (s.RulePausedUntil is { } paused)
        {
            w.Map(paused, shared: true, minus: w.Base);
        }
        if (s.UserDismissals != 0)
        {
            w.VarInt(s.UserDismissals);
        }
        if (s.UserPausedUntil != 0)
        {
            w.Time(s.UserPausedUntil);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & HasDismissals) != 0)
        {
            s.Dismissals = r.StringMap(static (ref StateReader x) => (int)x.VarInt(), shared: true);
        }
        if ((flags & HasPaused) != 0)
        {
            s.RulePausedUntil = r.StringMap(static (ref StateReader x) => x.Time(), shared: true);
        }
        if ((flags & HasUserDismissals) != 0)
        {
            s.UserDismissals = (int)r.VarInt();
        }
        if ((flags & HasUserPaused) != 0)
        {
            s.UserPausedUntil = r.Time();
        }
    }

    public override long UpperBoundBytes(UserState s) => MaxNumbersByNameBytes(s.Dismissals) + MaxNumbersByNameBytes(s.RulePausedUntil);

    /// <summary>Dismissals add up; a pause runs until the later of the two ends.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var (rule, n) in from.Dismissals ?? [])
        {
            (into.Dismissals ??= new Dictionary<string, int>(StringComparer.Ordinal))[rule] = into.Dismissals.GetValueOrDefault(rule) + n;
        }
        foreach (var (rule, until) in from.RulePausedUntil ?? [])
        {
            (into.RulePausedUntil ??= new Dictionary<string, long>(StringComparer.Ordinal))[rule] = Math.Max(into.RulePausedUntil.GetValueOrDefault(rule), until);
        }
        into.UserDismissals += from.UserDismissals;
        into.UserPausedUntil = Math.Max(into.UserPausedUntil, from.UserPausedUntil);
    }
}
