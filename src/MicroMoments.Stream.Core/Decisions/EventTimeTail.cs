using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Keeps <see cref="EventTimeState"/> to what a reordered event can still need: entries stamped within the allowed lateness
/// of the user's latest event, and at most their bound each (docs/rules.md, "Allowed lateness").
/// </summary>
internal static class EventTimeTail
{
    /// <summary>Drops what no event stamped at or after <paramref name="bar"/> (the latest event time minus the lateness) can change.</summary>
    public static void Prune(UserState state, long bar)
    {
        if (state.EventTime is not { } et)
        {
            return;
        }
        if (et.MissingSeen is { } seen)
        {
            foreach (var (key, at) in seen)
            {
                if (at < bar)
                {
                    seen.Remove(key); // removing while enumerating a Dictionary is allowed
                }
            }
            et.MissingSeen = seen.Count == 0 ? null : seen;
        }
        if (et.FiredGroups is { } groups)
        {
            InPlace.RemoveWhere(groups, bar, static (g, bar) => g.Hits.Count == 0 || g.Last.At < bar);
            et.FiredGroups = groups.Count == 0 ? null : groups;
        }
        if (et.IsEmpty)
        {
            state.EventTime = null;
        }
    }

    /// <summary>Notes that the <c>missing</c> event of absence scope <paramref name="timerId"/> was seen, stamped at <paramref name="at"/>.</summary>
    public static void MissingSeen(UserState state, string timerId, long at)
    {
        var seen = (state.EventTime ??= new EventTimeState()).MissingSeen ??= new Dictionary<string, long>(StringComparer.Ordinal);
        seen[timerId] = Math.Max(at, seen.GetValueOrDefault(timerId));
        while (seen.Count > EventTimeState.MaxMissingSeen)
        {
            seen.Remove(seen.MinBy(x => x.Value).Key);
        }
    }

    /// <summary>Whether the <c>missing</c> event of <paramref name="timerId"/> was seen stamped in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public static bool MissingSeenIn(UserState state, string timerId, long from, long to) =>
        state.EventTime?.MissingSeen?.TryGetValue(timerId, out var at) == true && at >= from && at <= to;

    /// <summary>Keeps a fired count group for a replay; beyond the bound, the earliest fired goes.</summary>
    public static void Fired(UserState state, FiredGroup group)
    {
        var groups = (state.EventTime ??= new EventTimeState()).FiredGroups ??= [];
        groups.Add(group);
        while (groups.Count > EventTimeState.MaxFiredGroups)
        {
            groups.Remove(groups.MinBy(g => g.Last.At)!);
        }
    }
}
