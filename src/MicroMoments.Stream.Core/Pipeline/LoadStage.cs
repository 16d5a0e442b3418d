using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Stage 3, load: brings the state of every user a batch names into the cache, one round trip per shard, and finds
/// the previous users its alias calls name. Safe to retry: what is cached already is not read again.
/// </summary>
public sealed class LoadStage(UserStateCache cache, IUserStateReader reader)
{
    /// <summary>Loads every given user that is not cached; a user with no state anywhere starts empty and is marked new.</summary>
    public async Task LoadAsync(IEnumerable<(string Shard, string UserId)> users, BatchWork work, CancellationToken ct)
    {
        var missing = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (shard, userId) in users)
        {
            if (!cache.TryGet(shard, userId, out _))
            {
                if (!missing.TryGetValue(shard, out var ids))
                {
                    missing[shard] = ids = new HashSet<string>(StringComparer.Ordinal);
                }
                ids.Add(userId);
            }
        }
        if (missing.Count == 0)
        {
            return;
        }
        var loads = missing.Select(async m => (Shard: m.Key, Ids: m.Value, Found: await reader.LoadAsync(m.Key, m.Value, ct))).ToList();
        foreach (var (shard, ids, load) in await Task.WhenAll(loads))
        {
            foreach (var bad in load.Unreadable)
            {
                StartFresh(bad, work);
            }
            foreach (var id in ids)
            {
                if (load.Found.TryGetValue(id, out var state))
                {
                    cache.Set(shard, state);
                }
                else if (!cache.TryGet(shard, id, out _))
                {
                    cache.Set(shard, new UserState { UserId = id });
                    work.MarkNew(shard, id);
                }
            }
        }
    }

    /// <summary>
    /// A user whose stored state cannot be read starts fresh: dead-lettered as <c>state_unreadable</c> (the reader has kept the
    /// bytes under the quarantine key), and saved with the batch even if nothing else changes, so the fresh state replaces the
    /// bad value and its timer-index entry is re-scored; otherwise the timer loop would find the user due on every check.
    /// </summary>
    private void StartFresh(UnreadableState bad, BatchWork work)
    {
        var fresh = new UserState { UserId = bad.UserId, ReindexTimers = true };
        cache.Set(bad.Shard, fresh);
        work.MarkDirty(bad.Shard, fresh);
        work.Quarantine(bad);
    }

    /// <summary>
    /// Finds the state of each previous id named by an alias in the batch, wherever its partition is: in the cache
    /// (an owned shard), else through the user index, into <see cref="BatchWork.Aliases"/>. Returns the owned shards
    /// found, whose epochs the batch needs to write their tombstones. A previous user on a shard another instance
    /// owns is read, not written: its history merges, its timers stay where they are (they fire there, once), and
    /// its state is not tombstoned.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> LoadAliasedAsync(List<ParsedRecord> parsed, Func<string, bool> owns, BatchWork work, CancellationToken ct)
    {
        var aliases = work.Aliases;
        foreach (var p in parsed)
        {
            if (p.Event.PreviousId is not { } previous || previous == p.Event.UserId || aliases.Knows(previous))
            {
                continue;
            }
            if (cache.TryFind(previous, out var cachedShard, out var cached))
            {
                aliases.Found(previous, cachedShard, cached, owned: true);
                continue;
            }
            if (await reader.ShardOfAsync(previous, ct) is not { } shard)
            {
                aliases.NotFound(previous);
                continue;
            }
            var owned = owns(shard);
            var load = await reader.LoadAsync(shard, [previous], ct);
            if (load.Found.GetValueOrDefault(previous) is not { } state)
            {
                // Nothing readable to merge. An unreadable previous user on a shard of ours is quarantined like any other;
                // on another instance's shard it is left to that owner, which quarantines it when it next loads the user.
                foreach (var bad in load.Unreadable.Where(_ => owned))
                {
                    StartFresh(bad, work);
                }
                aliases.NotFound(previous);
                continue;
            }
            if (owned)
            {
                cache.Set(shard, state);
            }
            else
            {
                state.Timers = null;
            }
            aliases.Found(previous, shard, state, owned);
        }
        return aliases.OwnedShards;
    }
}
