namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 21, behaviour counts: the running counts the learned segments' features are computed from (<see cref="BehaviourCounts"/>).</summary>
internal sealed class BehaviourSection : StateSection
{
    public override int Id => 21;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Behaviour is null;

    public override void Write(StateWriter w, UserState s)
    {
        var b = s.Behaviour!;
        w.VarInt(b.Events);
        w.VarInt(b.ActiveDays);
        w.VarInt(b.LastDay);
        w.VarUInt(b.RecentDays);
        w.VarInt(b.FinishedSessions);
        w.VarInt(b.FinishedSessionMs);
        w.VarInt(b.TaskFailures);
        w.VarInt(b.TaskCompletions);
    }

    public override void Read(ref StateReader r, UserState s) => s.Behaviour = new BehaviourCounts
    {
        Events = r.VarInt(),
        ActiveDays = (int)r.VarInt(),
        LastDay = (int)r.VarInt(),
        RecentDays = (uint)r.VarUInt(),
        FinishedSessions = (int)r.VarInt(),
        FinishedSessionMs = r.VarInt(),
        TaskFailures = (int)r.VarInt(),
        TaskCompletions = (int)r.VarInt(),
    };

    /// <summary>
    /// Counts add up, but a day both users were active on counts once (within the 32-day window both keep: an anonymous visit
    /// merged into a sign-up is usually the same day); the later last day wins with the union of the windows.
    /// </summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.Behaviour is not { } b)
        {
            return;
        }
        var i = into.Behaviour ??= new BehaviourCounts();
        i.Events += b.Events;
        i.ActiveDays += b.ActiveDays - i.SharedRecentDays(b);
        i.RecentDays = i.MergedRecentDays(b);
        i.LastDay = Math.Max(i.LastDay, b.LastDay);
        i.FinishedSessions += b.FinishedSessions;
        i.FinishedSessionMs += b.FinishedSessionMs;
        i.TaskFailures += b.TaskFailures;
        i.TaskCompletions += b.TaskCompletions;
    }
}
