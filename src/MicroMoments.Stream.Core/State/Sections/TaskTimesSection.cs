using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 7, task times: the user's usual duration per task and their count of much faster completions.</summary>
internal sealed class TaskTimesSection : StateSection
{
    private const int Durations = 1, Fast = 2;

    public override int Id => 7;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.TaskDurations is null && s.FastCompletions == 0;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.TaskDurations is null ? 0 : Durations) | (s.FastCompletions == 0 ? 0 : Fast)));
        if (s.TaskDurations is { } durations)
        {
            w.Map(durations, shared: false);
        }
        w.VarIntIfSet(s.FastCompletions);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & Durations) != 0)
        {
            s.TaskDurations = r.OrderedStringMap(static (ref StateReader x) => x.VarInt());
        }
        s.FastCompletions = (flags & Fast) != 0 ? (int)r.VarInt() : 0;
    }

    public override int Evict(UserState s, StateLimits limits) => EvictOldest(s.TaskDurations, limits.MaxTasks);

    public override long UpperBoundBytes(UserState s) => MaxNumbersByNameBytes(s.TaskDurations);

    public override int TrimRank => StateTrimOrder.LeastRecentlyUsed;

    public override int Trimmable(UserState s) => s.TaskDurations?.Count ?? 0;

    public override long TrimOldest(UserState s) => 5 + RemoveLeastRecent(s.TaskDurations!).Length;

    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        into.TaskDurations = UserMerge.Older(from.TaskDurations, into.TaskDurations, limits.MaxTasks);
        into.FastCompletions += from.FastCompletions;
    }
}
