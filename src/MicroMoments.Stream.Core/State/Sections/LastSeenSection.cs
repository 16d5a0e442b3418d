using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 25, last seen: when the user last did each event, for <c>did</c> and <c>not: { did }</c> conditions
/// (<see cref="Decisions.LastSeenRecord"/>). Bounded when added (<see cref="Decisions.LastSeenRecord.MaxEntries"/>, the least
/// recently seen goes). Kept by older readers: it is history, which no older writer changes.
/// </summary>
internal sealed class LastSeenSection : StateSection
{
    public override int Id => 25;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.LastSeen is null;

    public override void Write(StateWriter w, UserState s)
    {
        var seen = s.LastSeen!;
        w.Count(seen.Count);
        foreach (var (name, at) in seen)
        {
            w.Shared(name);
            w.Time(at);
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var seen = new OrderedDictionary<string, long>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var name = r.Shared();
            seen[name] = r.Time();
        }
        s.LastSeen = seen;
    }

    public override long UpperBoundBytes(UserState s) => MaxNumbersByNameBytes(s.LastSeen);

    /// <summary>The later time of each name wins; beyond the bound, the least recently seen go.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.LastSeen is not { } seen)
        {
            return;
        }
        var merged = new Dictionary<string, long>(into.LastSeen ?? [], StringComparer.Ordinal);
        foreach (var (name, at) in seen)
        {
            merged[name] = Math.Max(at, merged.GetValueOrDefault(name));
        }
        into.LastSeen = new OrderedDictionary<string, long>(
            merged.OrderBy(x => x.Value).ThenBy(x => x.Key, StringComparer.Ordinal).TakeLast(Decisions.LastSeenRecord.MaxEntries),
            StringComparer.Ordinal);
    }
}
