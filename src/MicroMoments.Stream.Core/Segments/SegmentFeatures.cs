using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Segments;

/// <summary>
/// The behavioural features of the learned segments (docs/analytics.md, "Learned segments"), computed from a user's state at a
/// reference time. The same function serves the <c>segment</c> command (over the states a replay of the file builds) and the
/// online <c>user.cluster</c> (over the stored state), so both see the same numbers for the same events and time.
/// </summary>
public static class SegmentFeatures
{
    private const double DayMs = 86_400_000;

    /// <summary>The features in the order of every vector and of the segments file's <c>features</c>.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "activeDays", "eventsPerActiveDay", "distinctFeatures", "avgSessionMinutes", "daysSinceLastActivity", "taskFailureRate", "tenureDays",
    ];

    public static int Length => Names.Count;

    /// <summary>
    /// Writes the features of <paramref name="s"/> at <paramref name="now"/> into <paramref name="into"/> (length <see cref="Length"/>);
    /// false, and nothing written, for a user with no activity counted (<see cref="UserState.Behaviour"/> is null).
    /// </summary>
    public static bool TryCompute(UserState s, DateTimeOffset now, Span<double> into)
    {
        if (s.Behaviour is not { } b)
        {
            return false;
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        var activeDays = Math.Max(1, b.ActiveDays);
        // The current session runs from its start to the latest event; it counts as one more session.
        var sessionMs = b.FinishedSessionMs + Math.Max(0, s.LastEventAt - s.SessionStartedAt);
        var tasks = b.TaskFailures + b.TaskCompletions;
        into[0] = b.ActiveDays;
        into[1] = (double)b.Events / activeDays;
        into[2] = s.FeatureCounts?.Count ?? 0;
        into[3] = sessionMs / 60_000.0 / (b.FinishedSessions + 1);
        into[4] = Math.Max(0, nowMs - s.LastEventAt) / DayMs;
        into[5] = tasks == 0 ? 0 : (double)b.TaskFailures / tasks;
        into[6] = Math.Max(0, nowMs - s.FirstSeenAt) / DayMs;
        return true;
    }

    /// <summary>Adds one applied activity event to the user's counts; called before the event touches the session fields.</summary>
    internal static void Observe(UserState state, ClickEvent e, long ts)
    {
        var b = state.Behaviour ??= new BehaviourCounts();
        b.Events++;
        b.CountDay((int)Math.Floor(ts / DayMs));
        // The session test of UserProfile.ObserveSession, as it is about to find it: a gap ends the session before this event.
        if (state.LastEventAt != 0 && ts - state.LastEventAt > Decisions.UserProfile.SessionGap.TotalMilliseconds)
        {
            b.FinishedSessions++;
            b.FinishedSessionMs += state.LastEventAt - state.SessionStartedAt;
        }
        switch (e.Key)
        {
            case "task failed":
                b.TaskFailures++;
                break;
            case "task completed":
                b.TaskCompletions++;
                break;
        }
    }
}
