using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 5, engagement points per day (days since the epoch), for the 30-day score.</summary>
internal sealed class EngagementSection : StateSection
{
    public override int Id => 5;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.EngagementPoints is null;

    public override void Write(StateWriter w, UserState s)
    {
        var points = s.EngagementPoints!;
        w.Count(points.Count);
        foreach (var (k, v) in points)
        {
            w.VarInt(k);
            w.VarInt(v);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var points = new Dictionary<int, int>(n);
        for (var i = 0; i < n; i++)
        {
            points[(int)r.VarInt()] = (int)r.VarInt();
        }
        s.EngagementPoints = points;
    }

    public override long UpperBoundBytes(UserState s) => 2L * MaxNumberBytes * (s.EngagementPoints?.Count ?? 0);

    public override int TrimRank => StateTrimOrder.EngagementDays;

    public override int Trimmable(UserState s) => s.EngagementPoints?.Count ?? 0;

    public override long TrimOldest(UserState s)
    {
        s.EngagementPoints!.Remove(s.EngagementPoints.Keys.Min());
        return 4;
    }

    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.EngagementPoints is { } points)
        {
            into.EngagementPoints ??= [];
            foreach (var (day, p) in points)
            {
                into.EngagementPoints[day] = into.EngagementPoints.GetValueOrDefault(day) + p;
            }
        }
    }
}
