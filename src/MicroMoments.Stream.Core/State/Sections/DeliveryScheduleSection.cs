using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 17, the delivery schedule: commands sent whose <c>deliverAfter</c> is still ahead.</summary>
internal sealed class DeliveryScheduleSection : StateSection
{
    private const int HasPer = 1, HasUser = 2;

    public override int Id => 17;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.PendingDeliveries is null;

    public override void Write(StateWriter w, UserState s)
    {
        var pending = s.PendingDeliveries!;
        w.Count(pending.Count);
        foreach (var p in pending)
        {
            w.Byte((byte)((p.Per is null ? 0 : HasPer) | (p.UserId is null ? 0 : HasUser)));
            w.String(p.InterventionId);
            w.Shared(p.RuleId);
            w.Shared(p.Channel);
            w.Time(p.DeliverAfter);
            w.StringIfSet(p.Per);
            w.StringIfSet(p.UserId);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var pending = new List<PendingDelivery>(n);
        for (var i = 0; i < n; i++)
        {
            var flags = r.Byte();
            var p = new PendingDelivery { InterventionId = r.String(), RuleId = r.Shared(), Channel = r.Shared() };
            p.DeliverAfter = r.Time();
            p.Per = (flags & HasPer) != 0 ? r.String() : null;
            p.UserId = (flags & HasUser) != 0 ? r.String() : null;
            pending.Add(p);
        }
        s.PendingDeliveries = pending;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var p in CollectionsMarshal.AsSpan(s.PendingDeliveries))
        {
            n += 1 + MaxStringBytes(p.InterventionId) + MaxStringBytes(p.RuleId) + MaxStringBytes(p.Channel) + MaxNumberBytes + MaxStringBytes(p.Per)
                + MaxStringBytes(p.UserId);
        }
        return n;
    }

    /// <summary>The anonymous user's commands not yet due join the identified user's, within <see cref="DeliveryCancellation.MaxPending"/>.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var p in from.PendingDeliveries ?? [])
        {
            // Still cancellable by the merged user's events, but keyed and addressed as the command was: to the anonymous id.
            p.UserId ??= from.UserId;
            (into.PendingDeliveries ??= []).Add(p);
        }
        if (into.PendingDeliveries is { } pending)
        {
            DeliveryCancellation.KeepBound(pending);
        }
    }
}
