using System.Runtime.InteropServices;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 11, count windows: the recent hits of count triggers, per rule and property value.</summary>
internal sealed class CountWindowsSection : StateSection
{
    public override int Id => 11;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Windows is null;

    public override void Write(StateWriter w, UserState s)
    {
        var windows = s.Windows!;
        w.Count(windows.Count);
        foreach (var (k, hits) in windows)
        {
            w.String(k);
            if (hits is null)
            {
                w.VarUInt(0);
                continue;
            }
            w.VarUInt((ulong)hits.Count + 1); // 0: a null list
            foreach (var h in hits)
            {
                w.Time(h.At);
                w.String(h.EventId);
            }
        }
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var windows = new Dictionary<string, List<WindowHit>>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var key = r.String();
            var stored = r.VarUInt(); // 0: a null list
            if (stored == 0)
            {
                windows[key] = null!;
                continue;
            }
            var count = stored - 1 <= (ulong)r.Remaining ? (int)(stored - 1) : throw new InvalidDataException("count beyond the value");
            var hits = new List<WindowHit>(count);
            for (var j = 0; j < count; j++)
            {
                var hitAt = r.Time();
                hits.Add(new WindowHit(hitAt, r.String()));
            }
            windows[key] = hits;
        }
        s.Windows = windows;
    }

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        if (s.Windows is { } windows)
        {
            foreach (var (k, hits) in windows)
            {
                n += MaxStringBytes(k) + MaxNumberBytes + MaxHitsBytes(hits);
            }
        }
        return n;
    }

    /// <summary>At most the bytes a list of window hits takes written (also the event-time section's fired groups).</summary>
    internal static long MaxHitsBytes(List<WindowHit>? hits)
    {
        var n = 0L;
        foreach (var h in CollectionsMarshal.AsSpan(hits))
        {
            n += MaxNumberBytes + MaxStringBytes(h.EventId);
        }
        return n;
    }

    public override int TrimRank => StateTrimOrder.WindowHits;

    public override int Trimmable(UserState s) => s.Windows?.Count ?? 0;

    /// <summary>The oldest hit of all windows; an empty window goes whole, first.</summary>
    public override long TrimOldest(UserState s)
    {
        var key = OldestWindow(s.Windows!);
        var hits = s.Windows![key];
        if (hits is not { Count: > 0 })
        {
            s.Windows.Remove(key);
            return 2 + key.Length;
        }
        var hit = hits[0];
        hits.RemoveAt(0);
        return 4 + hit.EventId.Length;
    }

    /// <summary>Both users' hits of a window, in time order.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        foreach (var (key, hits) in from.Windows ?? [])
        {
            into.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
            into.Windows[key] = [.. (hits ?? []).Concat(into.Windows.GetValueOrDefault(key) ?? []).OrderBy(h => h.At)];
        }
    }

    private static string OldestWindow(Dictionary<string, List<WindowHit>> windows)
    {
        string? oldest = null;
        var at = long.MaxValue;
        foreach (var (key, hits) in windows)
        {
            var first = hits is { Count: > 0 } ? hits[0].At : long.MinValue; // an empty window goes first
            if (first < at || oldest is null)
            {
                (oldest, at) = (key, first);
            }
        }
        return oldest!;
    }
}
