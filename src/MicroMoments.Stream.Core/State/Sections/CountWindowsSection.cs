namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 11, count windows: the recent hits of count triggers, per rule and property value.</summary>
internal sealed class CountWindowsSection : IStateSection
{
    public int Id => 11;

    public bool Keep => true;

    public bool IsEmpty(UserState s) => s.Windows is null;

    public void Write(StateWriter w, UserState s)
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

    public void Read(ref StateReader r, UserState s)
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
}
