using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 13, intervention memory: the last interventions (and held-out ghosts) with their feedback, newest last.</summary>
internal sealed class InterventionMemorySection : StateSection
{
    private const int HasVariant = 1, HasStatus = 2, HasConverted = 4, Converted = 8, HasConvertUntil = 16, HasGhost = 32, Ghost = 64,
        HasCounted = 128;

    public override int Id => 13;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Interventions is null;

    public override void Write(StateWriter w, UserState s)
    {
        var records = s.Interventions!;
        w.Count(records.Count);
        foreach (var r in records)
        {
            var variant = r.StoredVariant;
            w.Byte((byte)((variant is null ? 0 : HasVariant) | (r.Status is null ? 0 : HasStatus) | (r.Converted is null ? 0 : HasConverted)
                | (r.Converted == true ? Converted : 0) | (r.ConvertUntil is null ? 0 : HasConvertUntil) | (r.Ghost is null ? 0 : HasGhost)
                | (r.Ghost == true ? Ghost : 0) | (r.Counted == 0 ? 0 : HasCounted)));
            w.String(r.Id);
            w.Shared(r.RuleId);
            w.SharedIfSet(variant);
            w.Time(r.At);
            w.SharedIfSet(r.Status);
            if (r.ConvertUntil is { } until)
            {
                w.Time(until);
            }
            if (r.Counted != 0)
            {
                w.Byte((byte)r.Counted);
            }
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var records = new List<InterventionRecord>(n);
        for (var i = 0; i < n; i++)
        {
            var flags = r.Byte();
            var record = new InterventionRecord { Id = r.String(), RuleId = r.Shared() };
            record.StoredVariant = (flags & HasVariant) != 0 ? r.Shared() : null;
            record.At = r.Time();
            record.Status = (flags & HasStatus) != 0 ? r.Shared() : null;
            record.Converted = (flags & HasConverted) != 0 ? (flags & Converted) != 0 : null;
            record.ConvertUntil = (flags & HasConvertUntil) != 0 ? r.Time() : null;
            record.Ghost = (flags & HasGhost) != 0 ? (flags & Ghost) != 0 : null;
            record.Counted = (flags & HasCounted) != 0 ? (FeedbackKinds)r.Byte() : FeedbackKinds.None;
            records.Add(record);
        }
        s.Interventions = records;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var r in CollectionsMarshal.AsSpan(s.Interventions))
        {
            n += 2 + MaxStringBytes(r.Id) + MaxStringBytes(r.RuleId) + MaxStringBytes(r.StoredVariant) + MaxStringBytes(r.Status) + (2 * MaxNumberBytes);
        }
        return n;
    }

    public override int TrimRank => StateTrimOrder.InterventionRecords;

    public override int Trimmable(UserState s) => s.Interventions?.Count ?? 0;

    public override long TrimOldest(UserState s)
    {
        var r = s.Interventions![0];
        s.Interventions.RemoveAt(0);
        return 8 + r.Id.Length + r.RuleId.Length;
    }

    /// <summary>Both users' records in time order, the last <see cref="RuleEngine.RememberedInterventions"/>.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.Interventions is { } records)
        {
            into.Interventions = [.. records.Concat(into.Interventions ?? []).OrderBy(r => r.At).TakeLast(RuleEngine.RememberedInterventions)];
        }
    }
}
