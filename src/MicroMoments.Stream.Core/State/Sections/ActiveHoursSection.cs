using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 10, active hours for <c>deliver: best_time</c>: the period, then (when there is a histogram) the hours with activity.</summary>
internal sealed class ActiveHoursSection : StateSection
{
    public override int Id => 10;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.ActiveHours is null && s.ActiveHoursPeriod == 0;

    public override void Write(StateWriter w, UserState s)
    {
        // The period, a 24-bit mask of the hours with a count, then one byte per such hour: most users have a few.
        w.VarInt(s.ActiveHoursPeriod);
        if (s.ActiveHours is not { } hours)
        {
            return;
        }
        var mask = 0;
        for (var h = 0; h < hours.Length && h < 24; h++)
        {
            mask |= hours[h] != 0 ? 1 << h : 0;
        }
        w.Byte((byte)mask);
        w.Byte((byte)(mask >> 8));
        w.Byte((byte)(mask >> 16));
        for (var h = 0; h < 24; h++)
        {
            if ((mask & (1 << h)) != 0)
            {
                w.Byte(hours[h]);
            }
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        s.ActiveHoursPeriod = (int)r.VarInt();
        if (r.AtEnd)
        {
            return;
        }
        var mask = r.Byte() | r.Byte() << 8 | r.Byte() << 16;
        var hours = new byte[24];
        for (var h = 0; h < 24; h++)
        {
            if ((mask & (1 << h)) != 0)
            {
                hours[h] = r.Byte();
            }
        }
        s.ActiveHours = hours;
    }

    public override long UpperBoundBytes(UserState s) => s.ActiveHours is null ? 0 : MaxNumberBytes + 3 + Decisions.ActiveHours.Hours;

    public override void Merge(UserState into, UserState from, StateLimits limits) => Decisions.ActiveHours.Merge(into, from);
}
