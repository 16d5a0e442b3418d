namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Which shards this process may write, and becoming their writer before a batch writes them: the worker's are fenced by
/// epochs in Redis (<c>ShardOwnership</c>); <c>simulate</c> and the warm-up own every shard and acquire nothing (<see cref="AllShardsOwned"/>).
/// </summary>
public interface IShardOwnership
{
    bool Owns(string shard);

    /// <summary>Becomes the writer of each given shard that is owned and not yet acquired.</summary>
    Task AcquireAsync(IEnumerable<string> shards, CancellationToken ct);
}
