namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 15, auto-pause: when all nudges were last paused for the user after too many unanswered in a row.</summary>
internal sealed class AutoPauseSection : IStateSection
{
    public int Id => 15;

    public bool Keep => true;

    public bool IsEmpty(UserState s) => s.AutoPausedAt == 0;

    public void Write(StateWriter w, UserState s) => w.Time(s.AutoPausedAt);

    public void Read(ref StateReader r, UserState s) => s.AutoPausedAt = r.Time();

    public void Merge(UserState into, UserState from, StateLimits limits) => into.AutoPausedAt = Math.Max(into.AutoPausedAt, from.AutoPausedAt);
}
