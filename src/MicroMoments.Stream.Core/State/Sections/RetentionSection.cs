using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 22, retention counting (<see cref="Analytics.RetentionCounting"/>): which counts of the user's sign-up cohort were
/// made, the latest activity counted, and the treated and control arms the user is in, each with its first decision time
/// and the days counted.
/// </summary>
internal sealed class RetentionSection : StateSection
{
    private const int HasMarks = 1, HasLatest = 2, HasGroups = 4;

    public override int Id => 22;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.RetentionMarks == 0 && s.RetentionLatest == 0 && s.RetentionGroups is null;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.RetentionMarks == 0 ? 0 : HasMarks) | (s.RetentionLatest == 0 ? 0 : HasLatest) | (s.RetentionGroups is null ? 0 : HasGroups)));
        if (s.RetentionMarks != 0)
        {
            w.VarUInt((ulong)s.RetentionMarks);
        }
        if (s.RetentionLatest != 0)
        {
            w.Time(s.RetentionLatest);
        }
        if (s.RetentionGroups is not { } groups)
        {
            return;
        }
        w.Count(groups.Count);
        foreach (var g in groups)
        {
            w.Shared(g.RuleId);
            w.Shared(g.Arm);
            w.Time(g.Anchor);
            w.VarUInt((ulong)g.Marks);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        s.RetentionMarks = (flags & HasMarks) != 0 ? (int)r.VarUInt() : 0;
        s.RetentionLatest = (flags & HasLatest) != 0 ? r.Time() : 0;
        if ((flags & HasGroups) == 0)
        {
            s.RetentionGroups = null;
            return;
        }
        var n = r.Count();
        s.RetentionGroups = new List<RetentionGroup>(n);
        for (var i = 0; i < n; i++)
        {
            s.RetentionGroups.Add(new RetentionGroup { RuleId = r.Shared(), Arm = r.Shared(), Anchor = r.Time(), Marks = (int)r.VarUInt() });
        }
    }

    public override long UpperBoundBytes(UserState s)
    {
        long n = 0;
        foreach (var g in s.RetentionGroups ?? [])
        {
            n += MaxStringBytes(g.RuleId) + MaxStringBytes(g.Arm) + 2 * MaxNumberBytes;
        }
        return n;
    }

    /// <summary>Marks add up, the later activity stands; an arm both users are in keeps the earlier anchor, with the marks of both.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        into.RetentionMarks |= from.RetentionMarks;
        into.RetentionLatest = Math.Max(into.RetentionLatest, from.RetentionLatest);
        foreach (var g in from.RetentionGroups ?? [])
        {
            var mine = into.RetentionGroups?.Find(x => x.RuleId == g.RuleId && x.Arm == g.Arm);
            if (mine is null)
            {
                // The same bound as counting keeps (RetentionCounting.MaxGroups): past it a merged arm is not counted, as a new one is not.
                if ((into.RetentionGroups?.Count ?? 0) < Analytics.RetentionCounting.MaxGroups)
                {
                    (into.RetentionGroups ??= []).Add(g);
                }
            }
            else
            {
                (mine.Anchor, mine.Marks) = (Math.Min(mine.Anchor, g.Anchor), mine.Marks | g.Marks);
            }
        }
    }
}
