using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Arms, cancels and takes due the durable timers kept in a user's state.</summary>
public static class Timers
{
    public static void Arm(UserState state, string id, string ruleId, long dueAt, string armedBy, Dictionary<string, string>? details)
    {
        Cancel(state, id);
        (state.Timers ??= []).Add(new PendingTimer { Id = id, OwnRuleId = ruleId == id ? null : ruleId, DueAt = dueAt, ArmedBy = armedBy, Details = details });
    }

    public static void Cancel(UserState state, string id)
    {
        if (state.Timers is null)
        {
            return;
        }
        state.Timers.RemoveAll(t => t.Id == id);
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
}
