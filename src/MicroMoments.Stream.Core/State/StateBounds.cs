namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Keeps a user's state within <see cref="StateLimits"/>: the bounded maps drop their least recently used entries, then,
/// while the stored form is still too large, the sections a newer version wrote and this one keeps for it go first, then the
/// oldest history (intervention records, sent records, window hits, engagement days, then the oldest traits, features and tasks). Timers are bounded in number
/// (<see cref="StateLimits.MaxTimers"/>, the earliest due evicted) but never trimmed for size; watermarks and scalars never are:
/// losing them would break exactly-once or lose pending work.
/// </summary>
public static class StateBounds
{
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
        var evicted = EvictOldest(state.Traits, limits.MaxTraits)
            + EvictOldest(state.Attributes, limits.MaxTraits)
            + EvictOldest(state.FeatureCounts, limits.MaxFeatures)
            + EvictOldest(state.TaskDurations, limits.MaxTasks)
            + EvictTimers(state, limits.MaxTimers);
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

    /// <summary>Arming keeps the timer bound; this catches what a merge of two users' states brings together.</summary>
    private static int EvictTimers(UserState state, int max)
    {
        var n = 0;
        while (state.Timers is { } timers && timers.Count > Math.Max(1, max))
        {
            timers.RemoveAt(Decisions.Timers.EarliestDue(timers, null));
            n++;
        }
        return n;
    }

    private static int EvictOldest<T>(OrderedDictionary<string, T>? map, int max)
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
        if (s.Interventions is { Count: > 0 } records)
        {
            var r = records[0];
            records.RemoveAt(0);
            return 8 + r.Id.Length + r.RuleId.Length;
        }
        if (s.Sent is { Count: > 0 } sent)
        {
            var x = sent[0];
            sent.RemoveAt(0);
            return 8 + x.RuleId.Length;
        }
        if (OldestWindow(s) is { } key)
        {
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
        if (s.EngagementPoints is { Count: > 0 } points)
        {
            points.Remove(points.Keys.Min());
            return 4;
        }
        // Then the oldest entry of the largest bounded map.
        var traits = s.Traits?.Count ?? 0;
        var features = s.FeatureCounts?.Count ?? 0;
        var tasks = s.TaskDurations?.Count ?? 0;
        if (traits > 0 && traits >= features && traits >= tasks)
        {
            var (k, v) = s.Traits!.GetAt(0);
            s.Traits.RemoveAt(0);
            return 2 + k.Length + v.Length;
        }
        if (features > 0 && features >= tasks)
        {
            var k = s.FeatureCounts!.GetAt(0).Key;
            s.FeatureCounts.RemoveAt(0);
            return 3 + k.Length;
        }
        if (tasks > 0)
        {
            var k = s.TaskDurations!.GetAt(0).Key;
            s.TaskDurations.RemoveAt(0);
            return 5 + k.Length;
        }
        return 0;
    }

    private static string? OldestWindow(UserState s)
    {
        if (s.Windows is not { Count: > 0 } windows)
        {
            return null;
        }
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
        return oldest;
    }

    /// <summary>At least the binary size (17 sections' keys and lengths included; a string takes at most 3 bytes per character plus its header, a number at most 10).</summary>
    internal static long UpperBoundBytes(UserState s)
    {
        const int N = 10, H = 5;
        static long Str(string? x) => x is null ? 0 : 3L * x.Length + H;
        long n = 16 + 33 * N + 17 * 4 + 32 + Str(s.UserId) + Str(s.Device) + Str(s.Timezone) + Str(s.LastFeature);
        foreach (var (k, _) in s.Watermarks ?? [])
        {
            n += Str(k) + N;
        }
        foreach (var (k, v) in s.Traits ?? [])
        {
            n += Str(k) + Str(v);
        }
        foreach (var (k, v) in s.Attributes ?? [])
        {
            n += Str(k) + Str(v);
        }
        n += Str(s.MergedInto);
        if (s.UnknownSections is { } kept)
        {
            n += kept.Bytes + N;
            foreach (var name in kept.Names)
            {
                n += Str(name);
            }
        }
        foreach (var (k, _) in s.FeatureCounts ?? [])
        {
            n += Str(k) + N;
        }
        foreach (var (k, _) in s.TaskDurations ?? [])
        {
            n += Str(k) + N;
        }
        n += 2L * N * (s.EngagementPoints?.Count ?? 0) + 4L * (s.RecentIds?.Count ?? 0);
        n += s.ActiveHours is null ? 0 : N + 3 + Decisions.ActiveHours.Hours;
        foreach (var r in s.Interventions ?? [])
        {
            n += 2 + Str(r.Id) + Str(r.RuleId) + Str(r.StoredVariant) + Str(r.Status) + 2 * N;
        }
        foreach (var (k, _) in s.Dismissals ?? [])
        {
            n += Str(k) + N;
        }
        foreach (var (k, _) in s.RulePausedUntil ?? [])
        {
            n += Str(k) + N;
        }
        foreach (var (k, hits) in s.Windows ?? [])
        {
            n += Str(k) + N;
            foreach (var h in hits ?? [])
            {
                n += N + Str(h.EventId);
            }
        }
        foreach (var t in s.Timers ?? [])
        {
            n += 1 + Str(t.Id) + Str(t.OwnRuleId) + N + Str(t.ArmedBy) + N;
            foreach (var (k, v) in t.Details ?? [])
            {
                n += Str(k) + Str(v);
            }
        }
        foreach (var x in s.Sent ?? [])
        {
            n += 1 + N + Str(x.RuleId) + Str(x.Channel) + Str(x.Category);
        }
        foreach (var p in s.PendingDeliveries ?? [])
        {
            n += 1 + Str(p.InterventionId) + Str(p.RuleId) + Str(p.Channel) + N + Str(p.Per) + Str(p.UserId);
        }
        foreach (var w in s.Waiting ?? [])
        {
            // Written as JSON: about 20 bytes of names and punctuation per field, and up to 6 bytes a character (\uXXXX).
            static long Json(string? x) => x is null ? 0 : 6L * x.Length + 2;
            n += 400 + Json(w.Title) + Json(w.Body) + Json(w.ActionLabel) + Json(w.ActionUrl) + Json(w.Per) + Json(w.UserId) + Json(w.InterventionId)
                + Json(w.RuleId) + Json(w.Channel) + Json(w.Blocked) + Json(w.TriggerKind) + Json(w.Intent) + Json(w.Variant) + Json(w.Crossing);
            foreach (var id in w.EventIds)
            {
                n += 1 + Json(id);
            }
            foreach (var (k, v) in w.Details ?? [])
            {
                n += 6 + Json(k) + Json(v);
            }
        }
        foreach (var c in s.UnservedCrossings ?? [])
        {
            n += Str(c);
        }
        return n;
    }
}
