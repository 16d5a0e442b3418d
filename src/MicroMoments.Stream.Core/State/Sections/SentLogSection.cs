using System.Runtime.InteropServices;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 16, the sent log: interventions emitted, for caps, cooldowns and progressive disclosure.</summary>
internal sealed class SentLogSection : StateSection
{
    private const int HasTip = 1, Tip = 2;

    public override int Id => 16;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Sent is null;

    public override void Write(StateWriter w, UserState s)
    {
        var sent = s.Sent!;
        w.Count(sent.Count);
        foreach (var x in sent)
        {
            w.Byte((byte)((x.Tip is null ? 0 : HasTip) | (x.Tip == true ? Tip : 0)));
            w.Time(x.At);
            w.Shared(x.RuleId);
            w.Shared(x.Channel);
            w.Shared(x.Category);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var sent = new List<SentRecord>(n);
        for (var i = 0; i < n; i++)
        {
            var flags = r.Byte();
            var at = r.Time();
            sent.Add(new SentRecord(at, r.Shared(), r.Shared(), r.Shared(), (flags & HasTip) != 0 ? (flags & Tip) != 0 : null));
        }
        s.Sent = sent;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var x in CollectionsMarshal.AsSpan(s.Sent))
        {
            n += 1 + MaxNumberBytes + MaxStringBytes(x.RuleId) + MaxStringBytes(x.Channel) + MaxStringBytes(x.Category);
        }
        return n;
    }

    public override int TrimRank => StateTrimOrder.SentRecords;

    public override int Trimmable(UserState s) => s.Sent?.Count ?? 0;

    public override long TrimOldest(UserState s)
    {
        var x = s.Sent![0];
        s.Sent.RemoveAt(0);
        return 8 + x.RuleId.Length;
    }

    /// <summary>Both users' records in time order: what the anonymous user received counts toward the caps.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.Sent is { } sent)
        {
            into.Sent = [.. sent.Concat(into.Sent ?? []).OrderBy(x => x.At)];
        }
    }
}
