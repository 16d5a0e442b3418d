using System.Runtime.InteropServices;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 12, timers: the pending dwell, inactivity and absence timers, and the user's score in the timer index.</summary>
internal sealed class TimerListSection : StateSection
{
    private const int HasTimers = 1, HasIndexed = 2;
    private const int OwnRule = 1, HasDetails = 2;

    public override int Id => 12;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Timers is null && s.IndexedDueAt is null;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.Timers is null ? 0 : HasTimers) | (s.IndexedDueAt is null ? 0 : HasIndexed)));
        if (s.Timers is { } timers)
        {
            w.Count(timers.Count);
            foreach (var t in timers)
            {
                w.Byte((byte)((t.OwnRuleId is null ? 0 : OwnRule) | (t.Details is null ? 0 : HasDetails)));
                w.Shared(t.Id);
                w.SharedIfSet(t.OwnRuleId);
                w.Time(t.DueAt);
                w.String(t.ArmedBy);
                if (t.Details is { } details)
                {
                    w.Map(details);
                }
            }
        }
        if (s.IndexedDueAt is { } indexed)
        {
            w.Time(indexed);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & HasTimers) != 0)
        {
            var n = r.Count();
            var timers = new List<PendingTimer>(n);
            for (var i = 0; i < n; i++)
            {
                var timerFlags = r.Byte();
                var timer = new PendingTimer { Id = r.Shared() };
                timer.OwnRuleId = (timerFlags & OwnRule) != 0 ? r.Shared() : null;
                timer.DueAt = r.Time();
                timer.ArmedBy = r.String();
                if ((timerFlags & HasDetails) != 0)
                {
                    timer.Details = r.StringMap(static (ref StateReader x) => x.String());
                }
                timers.Add(timer);
            }
            s.Timers = timers;
        }
        s.IndexedDueAt = (flags & HasIndexed) != 0 ? r.Time() : null;
    }

    /// <summary>Arming keeps the timer bound; this catches what a merge of two users' states brings together (the earliest due go).</summary>
    public override int Evict(UserState s, StateLimits limits)
    {
        var n = 0;
        while (s.Timers is { } timers && timers.Count > Math.Max(1, limits.MaxTimers))
        {
            timers.RemoveAt(Decisions.Timers.EarliestDue(timers, null));
            n++;
        }
        return n;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var t in CollectionsMarshal.AsSpan(s.Timers))
        {
            n += 1 + MaxStringBytes(t.Id) + MaxStringBytes(t.OwnRuleId) + MaxNumberBytes + MaxStringBytes(t.ArmedBy) + MaxNumberBytes
                + MaxTextsByNameBytes(t.Details);
        }
        return n;
    }

    /// <summary>The anonymous user's timers move over, except where the identified user has its own of the same id (the newer one: the idle timer, a re-armed dwell).</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var timer in from.Timers ?? [])
        {
            if (into.Timers?.Exists(t => t.Id == timer.Id) != true)
            {
                (into.Timers ??= []).Add(timer);
                into.ReindexTimers = true;
            }
        }
    }
}
