namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 9, active days: the last day with activity (in the user's time zone) and the streak ending on it.</summary>
internal sealed class ActiveDaysSection : StateSection
{
    private const int Last = 1, Streak = 2;

    public override int Id => 9;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.LastActiveDay == 0 && s.StreakDays == 0;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.LastActiveDay == 0 ? 0 : Last) | (s.StreakDays == 0 ? 0 : Streak)));
        w.VarIntIfSet(s.LastActiveDay);
        w.VarIntIfSet(s.StreakDays);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        s.LastActiveDay = (flags & Last) != 0 ? (int)r.VarInt() : 0;
        s.StreakDays = (flags & Streak) != 0 ? (int)r.VarInt() : 0;
    }

    /// <summary>
    /// The later last active day wins with its streak (on the same day, the longer streak), and with it the active-day set of
    /// the event-time section, which belongs to that streak.
    /// </summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.LastActiveDay > into.LastActiveDay || (from.LastActiveDay == into.LastActiveDay && from.StreakDays > into.StreakDays))
        {
            (into.LastActiveDay, into.StreakDays) = (from.LastActiveDay, from.StreakDays);
            if (into.EventTime is { } et)
            {
                et.ActiveDays = from.EventTime?.ActiveDays ?? 0; // the day set goes with the streak it ends in (0: the streak stands for it)
            }
        }
    }
}
