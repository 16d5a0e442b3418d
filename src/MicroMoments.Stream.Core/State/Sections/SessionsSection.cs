namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 6, sessions: the current one's start, the last one's length and the user's baseline.</summary>
internal sealed class SessionsSection : StateSection
{
    private const int Started = 1, Last = 2, Baseline = 4;

    public override int Id => 6;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.SessionStartedAt == 0 && s.LastSessionMs == 0 && s.SessionBaselineMs == 0;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.SessionStartedAt == 0 ? 0 : Started) | (s.LastSessionMs == 0 ? 0 : Last) | (s.SessionBaselineMs == 0 ? 0 : Baseline)));
        if (s.SessionStartedAt != 0)
        {
            w.Time(s.SessionStartedAt);
        }
        w.VarIntIfSet(s.LastSessionMs);
        w.VarIntIfSet(s.SessionBaselineMs);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        s.SessionStartedAt = (flags & Started) != 0 ? r.Time() : 0;
        s.LastSessionMs = (flags & Last) != 0 ? r.VarInt() : 0;
        s.SessionBaselineMs = (flags & Baseline) != 0 ? r.VarInt() : 0;
    }

    /// <summary>
    /// The identified user's baseline stands once they have one; the current session starts at the anonymous visit when that
    /// ran on into the sign-up (less than a session gap between them).
    /// </summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (into.SessionBaselineMs == 0)
        {
            (into.SessionBaselineMs, into.LastSessionMs) = (from.SessionBaselineMs, from.LastSessionMs);
        }
        if (into.SessionStartedAt == 0 || (from.SessionStartedAt != 0 && from.SessionStartedAt < into.SessionStartedAt
            && into.SessionStartedAt - from.LastEventAt < (long)Decisions.UserProfile.SessionGap.TotalMilliseconds))
        {
            into.SessionStartedAt = from.SessionStartedAt; // the anonymous visit and the sign-up were one session
        }
    }
}
