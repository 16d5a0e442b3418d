using System.Runtime.InteropServices;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 20, event time (<see cref="EventTimeState"/>, docs/rules.md "Allowed lateness"): the active-day set, the last
/// stamp of each watched <c>missing</c> event, and the window hits of count rules that fired, kept for the lateness.
/// </summary>
internal sealed class EventTimeSection : StateSection
{
    private const byte ActiveDaysFlag = 1, MissingSeenFlag = 2, FiredGroupsFlag = 4;

    public override int Id => 20;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.EventTime is null;

    public override void Write(StateWriter w, UserState s)
    {
        var et = s.EventTime!;
        w.Byte((byte)((et.ActiveDays != 0 ? ActiveDaysFlag : 0) | (et.MissingSeen is null ? 0 : MissingSeenFlag)
            | (et.FiredGroups is null ? 0 : FiredGroupsFlag)));
        if (et.ActiveDays != 0)
        {
            w.VarUInt(et.ActiveDays);
        }
        if (et.MissingSeen is { } seen)
        {
            w.Count(seen.Count);
            foreach (var (k, t) in seen)
            {
                w.String(k);
                w.Time(t);
            }
        }
        if (et.FiredGroups is { } groups)
        {
            w.Count(groups.Count);
            foreach (var g in groups)
            {
                w.Shared(g.Window);
                w.Count(g.Hits.Count);
                foreach (var h in g.Hits)
                {
                    w.Time(h.At);
                    w.String(h.EventId);
                }
            }
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.Byte();
        var et = new EventTimeState();
        if ((flags & ActiveDaysFlag) != 0)
        {
            var days = r.VarUInt();
            et.ActiveDays = days <= uint.MaxValue ? (uint)days : throw new InvalidDataException("active days beyond 32 bits");
        }
        if ((flags & MissingSeenFlag) != 0)
        {
            var n = r.Count();
            var seen = new Dictionary<string, long>(n, StringComparer.Ordinal);
            for (var i = 0; i < n; i++)
            {
                var key = r.String();
                seen[key] = r.Time();
            }
            et.MissingSeen = seen;
        }
        if ((flags & FiredGroupsFlag) != 0)
        {
            var n = r.Count();
            var groups = new List<FiredGroup>(n);
            for (var i = 0; i < n; i++)
            {
                var window = r.Shared();
                var count = r.Count();
                if (count == 0)
                {
                    throw new InvalidDataException("a fired count group with no hits");
                }
                var hits = new List<WindowHit>(count);
                for (var j = 0; j < count; j++)
                {
                    var hitAt = r.Time();
                    hits.Add(new WindowHit(hitAt, r.String()));
                }
                groups.Add(new FiredGroup(window, hits));
            }
            et.FiredGroups = groups;
        }
        s.EventTime = et;
    }

    // Bounded in number where entries are added (EventTimeState.MaxMissingSeen, MaxFiredGroups), never trimmed for size.
    // Not merged: only the day set goes over, with the streak it belongs to (ActiveDaysSection).
    public override long UpperBoundBytes(UserState s)
    {
        if (s.EventTime is not { } et)
        {
            return 0;
        }
        var n = 1 + (3L * MaxNumberBytes) + MaxNumbersByNameBytes(et.MissingSeen); // flags, the day set and two counts
        foreach (var g in CollectionsMarshal.AsSpan(et.FiredGroups))
        {
            n += MaxStringBytes(g.Window) + MaxNumberBytes + CountWindowsSection.MaxHitsBytes(g.Hits);
        }
        return n;
    }
}
