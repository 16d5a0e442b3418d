using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// The shards this instance owns (its partitions) and, for each it has written since it was assigned, its epoch:
/// the fence that refuses a previous owner's late writes. Used on the consume thread only.
/// </summary>
public sealed class ShardOwnership(UserStateStore store, IOutboxRecovery recovery, ILogger<ShardOwnership> logger) : IShardOwnership
{
    private readonly HashSet<string> _owned = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Owned => _owned;

    public bool Owns(string shard) => _owned.Contains(shard);

    /// <summary>Owned, but not yet written since it was (re)assigned: its next write needs a new epoch first.</summary>
    public bool NeedsEpoch(string shard) => _owned.Contains(shard) && !_epochs.ContainsKey(shard);

    public long? EpochOf(string shard) => _epochs.TryGetValue(shard, out var e) ? e : null;

    public void Assigned(string shard) => _owned.Add(shard);

    /// <summary>Revoked or lost: neither owned nor written any more.</summary>
    public void Released(string shard)
    {
        _owned.Remove(shard);
        _epochs.Remove(shard);
    }

    /// <summary>
    /// Becomes the writer of each given shard owned and not yet acquired since it was assigned. An outbox left by
    /// the previous owner (it stopped between writing a batch and its acks) is settled first: what the output
    /// topic lacks is re-sent, so nothing it decided is lost and no command goes out twice.
    /// </summary>
    public async Task AcquireAsync(IEnumerable<string> shards, CancellationToken ct)
    {
        // Every shard side by side (the client pipelines them: one round trip, not two per shard, which on a fresh
        // worker with 12 partitions held its first batch about 100 ms). Each reads its outbox only after its new
        // epoch is set, so the previous owner can no longer change it. Should an acquire fail, none is recorded: the retry
        // takes new epochs for all, which fences nothing but this instance's own unrecorded ones. Recovery then goes shard by
        // shard, recording each epoch as its outbox is settled.
        var acquired = await Task.WhenAll(shards.Distinct().Where(NeedsEpoch).ToList().Select(async shard =>
        {
            var epoch = await store.AcquireAsync(shard, ct);
            return (Shard: shard, Epoch: epoch, Outbox: await store.ReadOutboxAsync(shard, ct));
        }));
        foreach (var (shard, epoch, outbox) in acquired)
        {
            if (outbox is not null)
            {
                var (found, resent) = await recovery.RecoverAsync(outbox, ct);
                await store.ClearOutboxesAsync([(shard, epoch)], ct);
                RedisLog.OutboxRecovered(logger, shard, found, resent);
            }
            _epochs[shard] = epoch;
        }
    }
}
