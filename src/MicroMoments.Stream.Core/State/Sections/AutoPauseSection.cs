namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 15, auto-pause: when all nudges were last paused for the user after too many unanswered in a row.</summary>
internal sealed class AutoPauseSection : StateSection
{
    public override int Id => 15;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.AutoPausedAt == 0;

    public override void Write(StateWriter w, UserState s) => w.Time(s.AutoPausedAt);

    public override void Read(ref StateReader r, UserState s) => s.AutoPausedAt = r.Time();

    public override void Merge(UserState into, UserState from, StateLimits limits) => into.AutoPausedAt = Math.Max(into.AutoPausedAt, from.AutoPausedAt);
}
