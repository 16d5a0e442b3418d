using MicroMoments.Stream.Core.State;
using NodaTime;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The user's active hours for <c>deliver: best_time</c>: per local hour of the day, on how many days the user was active
/// in it, kept for two 15-day periods (the current one and the one before) in 24 bytes — a nibble per hour and period,
/// which is enough because a period has 15 days. Counting days rather than events keeps one long session from
/// outweighing a habit. The history read at a decision is the current and the previous period: the last 15 to 30 days.
/// </summary>
public static class ActiveHours
{
    /// <summary>Days per period: two periods make the "last 30 days", and 15 fits a nibble.</summary>
    public const int PeriodDays = 15;

    public const int Hours = 24;

    private const long MillisecondsPerHour = 3_600_000;

    /// <summary>
    /// Counts the event's local hour once per day: only when it falls in a later local hour than the user's previous event,
    /// so a late event is not counted. Call before <see cref="UserState.LastEventAt"/> moves to this event. Both are read
    /// with the UTC offset at this event (one time-zone lookup per event): across a DST change an hour may count once more.
    /// </summary>
    public static void Observe(UserState state, DateTimeOffset at)
    {
        var ms = at.ToUnixTimeMilliseconds();
        if (state.LastEventAt != 0 && ms <= state.LastEventAt)
        {
            return;
        }
        var offset = TimeZones.Find(state.Timezone).GetUtcOffset(Instant.FromUnixTimeMilliseconds(ms)).Milliseconds;
        var slot = FloorDiv(ms + offset, MillisecondsPerHour);
        if (state.LastEventAt != 0 && slot == FloorDiv(state.LastEventAt + offset, MillisecondsPerHour))
        {
            return;
        }
        var day = FloorDiv(slot, Hours);
        var period = (int)FloorDiv(day, PeriodDays);
        var hour = (int)(slot - day * Hours);
        if (state.ActiveHours is not { Length: Hours } counts)
        {
            counts = state.ActiveHours = new byte[Hours];
            state.ActiveHoursPeriod = period;
        }
        if (period > state.ActiveHoursPeriod)
        {
            Roll(counts, period - state.ActiveHoursPeriod);
            state.ActiveHoursPeriod = period;
        }
        var shift = period == state.ActiveHoursPeriod ? 0 : period == state.ActiveHoursPeriod - 1 ? 4 : -1;
        if (shift >= 0 && ((counts[hour] >> shift) & 0xF) < 0xF)
        {
            counts[hour] += (byte)(1 << shift);
        }
    }

    /// <summary>
    /// The active days per local hour as seen at <paramref name="now"/>: both periods while the current one is still
    /// current, only the newer one once it has become the previous period, nothing once both are older.
    /// </summary>
    public static int[] Counts(UserState state, DateTimeOffset now)
    {
        var result = new int[Hours];
        if (state.ActiveHours is not { Length: Hours } counts)
        {
            return result;
        }
        var period = (int)FloorDiv(TimeZones.LocalDay(now, state.Timezone), PeriodDays);
        var age = period - state.ActiveHoursPeriod;
        for (var h = 0; h < Hours; h++)
        {
            result[h] = age <= 0 ? (counts[h] & 0xF) + (counts[h] >> 4) : age == 1 ? counts[h] & 0xF : 0;
        }
        return result;
    }

    /// <summary>Adds an anonymous visitor's active hours to the identified user's (an alias), aligned by period.</summary>
    public static void Merge(UserState into, UserState from)
    {
        if (from.ActiveHours is not { Length: Hours } source)
        {
            return;
        }
        if (into.ActiveHours is not { Length: Hours } target)
        {
            (into.ActiveHours, into.ActiveHoursPeriod) = ((byte[])source.Clone(), from.ActiveHoursPeriod);
            return;
        }
        var src = (byte[])source.Clone();
        if (from.ActiveHoursPeriod > into.ActiveHoursPeriod)
        {
            Roll(target, from.ActiveHoursPeriod - into.ActiveHoursPeriod);
            into.ActiveHoursPeriod = from.ActiveHoursPeriod;
        }
        else
        {
            Roll(src, into.ActiveHoursPeriod - from.ActiveHoursPeriod);
        }
        for (var h = 0; h < Hours; h++)
        {
            var current = Math.Min(0xF, (target[h] & 0xF) + (src[h] & 0xF));
            var previous = Math.Min(0xF, (target[h] >> 4) + (src[h] >> 4));
            target[h] = (byte)(previous << 4 | current);
        }
    }

    /// <summary>Moves the counts <paramref name="periods"/> periods on: the current becomes the previous after one, both clear after two.</summary>
    private static void Roll(byte[] counts, int periods)
    {
        for (var h = 0; h < Hours; h++)
        {
            counts[h] = periods == 0 ? counts[h] : periods == 1 ? (byte)((counts[h] & 0xF) << 4) : (byte)0;
        }
    }

    private static long FloorDiv(long a, long b) => a / b - (a % b < 0 ? 1 : 0);
}
