using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 19, unserved crossings: threshold and streak rules (per feature for <c>featureUses</c>) whose crossing expired or
/// was dropped, so they fire again at the next event where the metric still holds (<see cref="UserState.UnservedCrossings"/>).
/// </summary>
internal sealed class UnservedCrossingsSection : StateSection
{
    public override int Id => 19;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.UnservedCrossings is null;

    public override void Write(StateWriter w, UserState s)
    {
        w.Count(s.UnservedCrossings!.Count);
        foreach (var key in s.UnservedCrossings)
        {
            w.String(key);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var keys = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            keys.Add(r.String());
        }
        s.UnservedCrossings = keys;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var c in CollectionsMarshal.AsSpan(s.UnservedCrossings))
        {
            n += MaxStringBytes(c);
        }
        return n;
    }

    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var c in from.UnservedCrossings ?? [])
        {
            DeliverySchedule.MarkUnserved(into, c);
        }
    }
}
