namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 8, onboarding progress: the step reached, the total and whether it completed.</summary>
internal sealed class OnboardingSection : StateSection
{
    private const int Step = 1, Total = 2, Completed = 4;

    public override int Id => 8;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.OnboardingStep == 0 && s.OnboardingTotal == 0 && !s.OnboardingCompleted;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.OnboardingStep == 0 ? 0 : Step) | (s.OnboardingTotal == 0 ? 0 : Total) | (s.OnboardingCompleted ? Completed : 0)));
        w.VarIntIfSet(s.OnboardingStep);
        w.VarIntIfSet(s.OnboardingTotal);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        s.OnboardingStep = (flags & Step) != 0 ? (int)r.VarInt() : 0;
        s.OnboardingTotal = (flags & Total) != 0 ? (int)r.VarInt() : 0;
        s.OnboardingCompleted = (flags & Completed) != 0;
    }

    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        into.OnboardingStep = Math.Max(into.OnboardingStep, from.OnboardingStep);
        into.OnboardingTotal = Math.Max(into.OnboardingTotal, from.OnboardingTotal);
        into.OnboardingCompleted |= from.OnboardingCompleted;
    }
}
