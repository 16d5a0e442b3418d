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
        foreach (var (shard, ids, found) in await Task.WhenAll(loads))
        {
            foreach (var id in ids)
            {
                if (found.TryGetValue(id, out var state))
                {
                    cache.Set(shard, state);
                }
                else
                {
                    cache.Set(shard, new UserState { UserId = id });
                    work.MarkNew(shard, id);
                }
            }
        }
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
            if (await reader.ShardOfAsync(previous, ct) is not { } shard
                || (await reader.LoadAsync(shard, [previous], ct)).GetValueOrDefault(previous) is not { } state)
            {
                aliases.NotFound(previous);
                continue;
            }
            var owned = owns(shard);
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
