using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// Stage 5, persist: serialises a batch's changed users, decisions and counters per shard, with the shard's
/// outgoing messages as its outbox, into writes fenced by the shard's epoch. The snapshot is taken here, so the
/// write can be retried (or overlap the next batch) without picking up later changes.
/// </summary>
/// <remarks><c>onSplit</c> hears of each new user whose index names another shard (user id, shard, other shard).</remarks>
public sealed class StatePersister(UserStateStore store, ILogger<StatePersister> logger, Action<string, string, string>? onSplit = null)
{
    /// <summary>Batches changing at least this many users are serialised on every core.</summary>
    private const int ParallelFrom = 512;

    private static readonly Dictionary<string, List<string>> NoDecisions = new(StringComparer.Ordinal);

    /// <summary>
    /// Prepares the writes of a batch. <c>outboxes</c> holds each shard's encoded outgoing messages (a shard with none is
    /// absent); <c>epochOf</c> gives a shard's epoch, or null when this instance does not own it: that shard is left
    /// out (revoked while the batch was in hand), and the new owner redoes it.
    /// </summary>
    public IPreparedState Prepare(BatchWork work, IReadOnlyDictionary<string, byte[]> outboxes, Func<string, long?> epochOf)
    {
        // Each user's decisions go with the user's state, for explain.
        Dictionary<(string Shard, string UserId), List<Decision>>? decisions = null;
        foreach (var (shard, d) in work.Decisions)
        {
            decisions ??= [];
            if (!decisions.TryGetValue((shard, d.UserId), out var list))
            {
                decisions[(shard, d.UserId)] = list = [];
            }
            list.Add(d);
        }
        var shards = new List<(string Shard, long Epoch, Dictionary<string, UserState>? Users)>(work.Dirty.Count);
        foreach (var shard in work.Dirty.Keys.Union(outboxes.Keys))
        {
            if (epochOf(shard) is { } epoch)
            {
                shards.Add((shard, epoch, work.Dirty.GetValueOrDefault(shard)));
            }
        }
        // Shards hold different users, so they are serialised side by side.
        var writes = new ShardWrite[shards.Count];
        void Prepare(int i)
        {
            var (shard, epoch, users) = shards[i];
            Dictionary<string, List<string>>? shardDecisions = null;
            if (decisions is not null && users is not null)
            {
                foreach (var userId in users.Keys)
                {
                    if (decisions.TryGetValue((shard, userId), out var list))
                    {
                        (shardDecisions ??= new Dictionary<string, List<string>>(StringComparer.Ordinal))[userId] = list.ConvertAll(DecisionJson.Serialize);
                    }
                }
            }
            writes[i] = store.Prepare(shard, epoch, users?.Values ?? (IReadOnlyCollection<UserState>)[],
                work.NewUsers.TryGetValue(shard, out var n) ? n : (IReadOnlyCollection<string>)[],
                shardDecisions ?? NoDecisions, work.Counters.GetValueOrDefault(shard),
                outboxes.GetValueOrDefault(shard));
        }
        if (work.Dirty.Sum(d => d.Value.Count) >= ParallelFrom)
        {
            Parallel.For(0, shards.Count, Prepare);
        }
        else
        {
            for (var i = 0; i < shards.Count; i++)
            {
                Prepare(i);
            }
        }
        return new PreparedShardWrites(store, writes, logger, onSplit);
    }
}
