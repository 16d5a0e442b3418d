using MicroMoments.Stream.Core.State.Sections;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Keeps a user's state within <see cref="StateLimits"/>: the bounded maps drop their least recently used entries, then,
/// while the stored form is still too large, the sections a newer version wrote and this one keeps for it go first, then the
/// oldest history (intervention records, sent records, window hits, engagement days, then the oldest traits, features and tasks). Timers are bounded in number
/// (<see cref="StateLimits.MaxTimers"/>, the earliest due evicted) but never trimmed for size; watermarks and scalars never are:
/// losing them would break exactly-once or lose pending work. Each section says its own part (<see cref="StateSection.Evict"/>,
/// <see cref="StateSection.UpperBoundBytes"/>, <see cref="StateSection.TrimRank"/>); this type runs them in that order.
/// </summary>
public static class StateBounds
{
    /// <summary>At most the bytes a number takes written (a varint of 64 bits).</summary>
    internal const int MaxNumberBytes = 10;

    /// <summary>The sections that trim for size, by <see cref="StateSection.TrimRank"/>, each rank in id order.</summary>
    private static readonly StateSection[][] TrimRanks =
        [.. StateSections.All.Where(x => x.TrimRank != StateTrimOrder.Never).GroupBy(x => x.TrimRank).OrderBy(g => g.Key).Select(g => g.ToArray())];

    /// <summary>Sets <paramref name="key"/> as the most recent entry of <paramref name="map"/>; returns how many old entries it evicted.</summary>
    public static int Touch<T>(OrderedDictionary<string, T> map, string key, T value, int max)
    {
        var i = map.IndexOf(key);
        if (i >= 0 && i == map.Count - 1)
        {
            map.SetAt(i, value);
            return 0;
        }
        if (i >= 0)
        {
            map.RemoveAt(i);
        }
        map.Add(key, value);
        return EvictOldest(map, max);
    }

    /// <summary>Applies every bound; returns the entries evicted by the count bounds and those trimmed for size.</summary>
    public static (int Evicted, int Trimmed) Enforce(UserState state, StateLimits limits)
    {
        var evicted = 0;
        foreach (var section in StateSections.Evicting)
        {
            evicted += section.Evict(state, limits);
        }
        // Exact sizing costs a serialisation; an upper bound that needs none settles almost every user.
        if (UpperBoundBytes(state) <= limits.MaxStateBytes)
        {
            return (evicted, 0);
        }
        var trimmed = 0;
        var size = StateContainer.SerializedSize(state);
        while (size > limits.MaxStateBytes)
        {
            var freed = 0L;
            var before = trimmed;
            while (freed < size - limits.MaxStateBytes && TrimOldest(state) is var f && f > 0)
            {
                freed += f;
                trimmed++;
            }
            if (trimmed == before)
            {
                break; // only untrimmable parts are left
            }
            size = StateContainer.SerializedSize(state);
        }
        return (evicted, trimmed);
    }

    /// <summary>Removes the least recently used entries of <paramref name="map"/> beyond <paramref name="max"/>; returns how many.</summary>
    internal static int EvictOldest<T>(OrderedDictionary<string, T>? map, int max)
    {
        if (map is null || map.Count <= max)
        {
            return 0;
        }
        var n = map.Count - max;
        for (var i = 0; i < n; i++)
        {
            map.RemoveAt(0);
        }
        return n;
    }

    /// <summary>Removes the oldest piece of history; returns roughly the bytes it took (0: nothing left to trim).</summary>
    internal static long TrimOldest(UserState s)
    {
        if (s.UnknownSections is { Sections.Count: > 0 } kept)
        {
            // A newer version's sections, kept only to be handed back: the last (highest id) goes first.
            var bytes = kept.Sections[^1].Payload.Length + 2;
            kept.Sections.RemoveAt(kept.Sections.Count - 1);
            return bytes;
        }
        foreach (var rank in TrimRanks)
        {
            StateSection? fullest = null;
            var most = 0;
            foreach (var section in rank)
            {
                if (section.Trimmable(s) is var n && n > most)
                {
                    (fullest, most) = (section, n);
                }
            }
            if (fullest is not null)
            {
                return fullest.TrimOldest(s);
            }
        }
        return 0;
    }

    /// <summary>At most the bytes <paramref name="x"/> takes written: 3 per character (UTF-8 of a UTF-16 unit) plus its header.</summary>
    internal static long MaxStringBytes(string? x) => x is null ? 0 : 3L * x.Length + 5;

    /// <summary>At most the bytes a map of names to numbers takes written.</summary>
    internal static long MaxNumbersByNameBytes<T>(Dictionary<string, T>? map)
    {
        var n = 0L;
        if (map is not null)
        {
            foreach (var k in map.Keys)
            {
                n += MaxStringBytes(k) + MaxNumberBytes;
            }
        }
        return n;
    }

    /// <inheritdoc cref="MaxNumbersByNameBytes{T}(Dictionary{string, T})"/>
    internal static long MaxNumbersByNameBytes<T>(OrderedDictionary<string, T>? map)
    {
        var n = 0L;
        for (var i = 0; i < (map?.Count ?? 0); i++)
        {
            n += MaxStringBytes(map!.GetAt(i).Key) + MaxNumberBytes;
        }
        return n;
    }

    /// <summary>At most the bytes a map of names to texts takes written.</summary>
    internal static long MaxTextsByNameBytes(Dictionary<string, string>? map)
    {
        var n = 0L;
        if (map is not null)
        {
            foreach (var (k, v) in map)
            {
                n += MaxStringBytes(k) + MaxStringBytes(v);
            }
        }
        return n;
    }

    /// <inheritdoc cref="MaxTextsByNameBytes(Dictionary{string, string})"/>
    internal static long MaxTextsByNameBytes(OrderedDictionary<string, string>? map)
    {
        var n = 0L;
        for (var i = 0; i < (map?.Count ?? 0); i++)
        {
            var (k, v) = map!.GetAt(i);
            n += MaxStringBytes(k) + MaxStringBytes(v);
        }
        return n;
    }

    /// <summary>Removes the least recently used entry of <paramref name="map"/>; returns its key.</summary>
    internal static string RemoveLeastRecent<T>(OrderedDictionary<string, T> map)
    {
        var k = map.GetAt(0).Key;
        map.RemoveAt(0);
        return k;
    }

    /// <summary>
    /// At least the binary size, computed without writing: a fixed part (the format byte, the header's and every section's
    /// scalars, 18 sections' keys and lengths), the user id, the kept sections of a newer version and each section's part
    /// (<see cref="StateSection.UpperBoundBytes"/>).
    /// </summary>
    internal static long UpperBoundBytes(UserState s)
    {
        long n = 16 + 41 * MaxNumberBytes + 18 * 4 + 32 + MaxStringBytes(s.UserId);
        if (s.UnknownSections is { } kept)
        {
            n += kept.Bytes + MaxNumberBytes;
            foreach (var name in kept.Names)
            {
                n += MaxStringBytes(name);
            }
        }
        foreach (var section in StateSections.Sized)
        {
            n += section.UpperBoundBytes(s);
        }
        return n;
    }
}
