using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Arms, cancels and takes due the durable timers kept in a user's state.</summary>
public static class Timers
{
    /// <summary>
    /// Arms the timer (replacing one with the same id); it goes last in the list, as a newly armed timer does. A new
    /// timer beyond <paramref name="maxTimers"/> evicts the earliest-due timer of the same rule, else the earliest-due
    /// of all: an absence rule with <c>per</c> would otherwise arm one per distinct value, without end. Returns how many it evicted.
    /// </summary>
    public static int Arm(UserState state, string id, string ruleId, long dueAt, string armedBy, Dictionary<string, string>? details,
        int maxTimers = int.MaxValue)
    {
        var ownRuleId = ruleId == id ? null : ruleId;
        var timers = state.Timers ??= [];
        var at = IndexOf(timers, id);
        if (at < 0)
        {
            var evicted = 0;
            while (timers.Count >= Math.Max(1, maxTimers))
            {
                timers.RemoveAt(EarliestDue(timers, ruleId));
                evicted++;
            }
            timers.Add(new PendingTimer { Id = id, OwnRuleId = ownRuleId, DueAt = dueAt, ArmedBy = armedBy, Details = details });
            return evicted;
        }
        // Re-armed (the inactivity timer is, by every event): the same object, moved last.
        var timer = timers[at];
        timers.RemoveAt(at);
        timer.OwnRuleId = ownRuleId;
        timer.DueAt = dueAt;
        timer.ArmedBy = armedBy;
        timer.Details = details;
        timers.Add(timer);
        // Ids are unique per user, but a state written by an older version could hold a duplicate.
        RemoveAll(timers, id, timers.Count - 1);
        return 0;
    }

    /// <summary>The index of the earliest-due timer of <paramref name="ruleId"/>, or of all timers when the rule has none.</summary>
    internal static int EarliestDue(List<PendingTimer> timers, string? ruleId)
    {
        var best = -1;
        for (var pass = 0; pass < 2 && best < 0; pass++)
        {
            for (var i = 0; i < timers.Count; i++)
            {
                if ((pass == 1 || timers[i].RuleId == ruleId) && (best < 0 || timers[i].DueAt < timers[best].DueAt))
                {
                    best = i;
                }
            }
        }
        return best;
    }

    public static void Cancel(UserState state, string id)
    {
        if (state.Timers is null)
        {
            return;
        }
        RemoveAll(state.Timers, id, state.Timers.Count);
        if (state.Timers.Count == 0)
        {
            state.Timers = null;
        }
    }

    /// <summary>Removes and returns the timers due at <paramref name="nowMs"/>, earliest first.</summary>
    public static List<PendingTimer> TakeDue(UserState state, long nowMs)
    {
        if (state.Timers is null)
        {
            return [];
        }
        var due = state.Timers.Where(t => t.DueAt <= nowMs).OrderBy(t => t.DueAt).ThenBy(t => t.Id, StringComparer.Ordinal).ToList();
        if (due.Count > 0)
        {
            state.Timers.RemoveAll(t => t.DueAt <= nowMs);
            if (state.Timers.Count == 0)
            {
                state.Timers = null;
            }
        }
        return due;
    }

    private static int IndexOf(List<PendingTimer> timers, string id)
    {
        for (var i = 0; i < timers.Count; i++)
        {
            if (timers[i].Id == id)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Removes the timers with this id among the first <paramref name="end"/>, keeping the order of the rest.</summary>
    private static void RemoveAll(List<PendingTimer> timers, string id, int end)
    {
        var kept = 0;
        for (var i = 0; i < timers.Count; i++)
        {
            if (i < end && timers[i].Id == id)
            {
                continue;
            }
            timers[kept++] = timers[i];
        }
        timers.RemoveRange(kept, timers.Count - kept);
    }
}
