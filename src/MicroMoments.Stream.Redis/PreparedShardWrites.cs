using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>A batch's shards, serialised by <see cref="StatePersister"/>: written in one fenced script each, then their outboxes cleared.</summary>
public sealed class PreparedShardWrites(UserStateStore store, IReadOnlyList<ShardWrite> writes, ILogger logger, Action<string, string, string>? onSplit) : IPreparedState
{
    public IReadOnlyList<ShardWrite> Writes => writes;

    public async Task<IReadOnlySet<string>> SaveAsync(CancellationToken ct)
    {
        var results = await Task.WhenAll(writes.Select(async w =>
            (w.Shard, Written: await store.WriteAsync(w, ct, onSplit is null ? null : (userId, other) => onSplit(userId, w.Shard, other)))));
        foreach (var (shard, _) in results.Where(r => !r.Written))
        {
            RedisLog.Fenced(logger, shard);
        }
        return results.Where(r => r.Written).Select(r => r.Shard).ToHashSet(StringComparer.Ordinal);
    }

    public async Task ClearOutboxesAsync(IReadOnlySet<string> written, CancellationToken ct)
    {
        try
        {
            await store.ClearOutboxesAsync(writes.Where(w => w.HasOutbox && written.Contains(w.Shard)).ToList(), ct);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nobody awaits the clear (BatchCommit.Cleanup): whatever failed is said here, and the outbox stays for a new owner to find settled.
            RedisLog.OutboxClearFailed(logger, ex);
        }
    }
}
