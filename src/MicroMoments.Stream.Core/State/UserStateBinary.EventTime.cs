namespace MicroMoments.Stream.Core.State;

// The event-time fields (EventTimeState, docs/rules.md "Allowed lateness"): one header bit, appended after every other,
// with a payload of its own. A reader from before it throws "bytes after the user state" on a value that has it, as for
// bits 31-35: a rollback to such a version needs StateFormat=Json (docs/configuration.md).
internal static partial class UserStateBinary
{
    private const int EventTimeBit = 36;

    private const byte ActiveDaysFlag = 1, MissingSeenFlag = 2, FiredGroupsFlag = 4;

    private static void WriteEventTime(Writer w, EventTimeState et, long at)
    {
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
                w.VarInt(t - at);
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
                    w.VarInt(h.At - at);
                    w.String(h.EventId);
                }
            }
        }
    }

    private static EventTimeState ReadEventTime(ref Reader r, long at)
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
                seen[key] = at + r.VarInt();
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
                var hits = new List<WindowHit>(count);
                for (var j = 0; j < count; j++)
                {
                    var hitAt = at + r.VarInt();
                    hits.Add(new WindowHit(hitAt, r.String()));
                }
                groups.Add(new FiredGroup(window, hits));
            }
            et.FiredGroups = groups;
        }
        return et;
    }
}
