using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// <c>action.deliver: best_time</c>: the local hour the user was active in on the most days of their last 15–30 days
/// (<see cref="ActiveHours"/>), among the hours whose start lies inside the send window and outside quiet hours.
/// Below <see cref="MinActiveDays"/> active days in those hours the history is thin and the send window decides, as
/// without <c>best_time</c>.
/// </summary>
public static class BestTime
{
    /// <summary>Fewer active hour-days than this inside the allowed hours is too thin to pick an hour from.</summary>
    public const int MinActiveDays = 5;

    public const string FromHistory = "history";
    public const string ThinHistory = "thin_history_send_window";

    /// <summary>
    /// The hour to deliver in and its first moment at or after <paramref name="earliest"/> (<paramref name="earliest"/>
    /// itself when it already lies in that hour); or, for a thin history, no hour.
    /// </summary>
    public static (int? Hour, DateTimeOffset At, int ActiveDays) Choose(UserState state, TimeWindow? quiet, TimeWindow? window, DateTimeOffset earliest)
    {
        var counts = ActiveHours.Counts(state, earliest);
        var localHour = TimeZones.Local(earliest, state.Timezone).Hour;
        int? best = null;
        var bestCount = 0;
        var bestWait = int.MaxValue;
        var evidence = 0;
        for (var h = 0; h < ActiveHours.Hours; h++)
        {
            var start = TimeSpan.FromHours(h);
            if (quiet?.Contains(start) == true || window?.Contains(start) == false)
            {
                continue;
            }
            evidence += counts[h];
            var wait = (h - localHour + ActiveHours.Hours) % ActiveHours.Hours; // ties go to the hour that comes first
            if (counts[h] > bestCount || (counts[h] == bestCount && counts[h] > 0 && wait < bestWait))
            {
                (best, bestCount, bestWait) = (h, counts[h], wait);
            }
        }
        if (evidence < MinActiveDays || best is not { } hour)
        {
            return (null, earliest, evidence);
        }
        return (hour, hour == localHour ? earliest : SendTime.NextHour(earliest, hour, state.Timezone), evidence);
    }
}

/// <summary>How a <c>best_time</c> command was timed, on its decision: the local hour of its deliverAfter and why that hour.</summary>
public sealed record DeliveryChoice(string Mode, int Hour, string Basis, int ActiveDays);
