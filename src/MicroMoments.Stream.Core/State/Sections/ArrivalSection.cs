using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 2, what arrived already: the watermarks per partition and the hashes of recent message ids.</summary>
internal sealed class ArrivalSection : StateSection
{
    private const int HasWatermarks = 1, HasRecentIds = 2;

    public override int Id => 2;

    public override bool Keep => true;

    // Absent watermarks read as the empty map every new state starts with.
    public override bool IsEmpty(UserState s) => s.Watermarks is not { Count: > 0 } && s.RecentIds is null;

    public override void Write(StateWriter w, UserState s)
    {
        var wm = s.Watermarks is { Count: > 0 } ? s.Watermarks : null;
        w.VarUInt((ulong)((wm is null ? 0 : HasWatermarks) | (s.RecentIds is null ? 0 : HasRecentIds)));
        if (wm is not null)
        {
            w.Map(wm, shared: false);
        }
        if (s.RecentIds is { } ids)
        {
            // Hashes: random bits, so four fixed bytes beat a varint.
            w.Count(ids.Count);
            foreach (var id in ids)
            {
                w.Int32(id);
            }
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & HasWatermarks) != 0)
        {
            s.Watermarks = r.StringMap(static (ref StateReader x) => x.VarInt());
        }
        if ((flags & HasRecentIds) != 0)
        {
            var n = r.Count();
            var ids = new List<int>(n);
            for (var i = 0; i < n; i++)
            {
                ids.Add(r.Int32());
            }
            s.RecentIds = ids;
        }
    }

    public override long UpperBoundBytes(UserState s) => MaxNumbersByNameBytes(s.Watermarks) + (4L * (s.RecentIds?.Count ?? 0));

    // The watermarks stay with the tombstone (UserMerge), which still recognises a redelivered anonymous record.
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.RecentIds is { } ids)
        {
            into.RecentIds = [.. ids.Concat(into.RecentIds ?? []).Distinct().TakeLast(UserProfile.RecentIdCount)];
        }
    }
}
