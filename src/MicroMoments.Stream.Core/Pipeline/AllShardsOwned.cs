namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The ownership of a process alone with its state: <c>simulate</c>, whose store is its own memory, and the warm-up,
/// which must take no epoch. Every shard is owned and there is nothing to acquire.
/// </summary>
public sealed class AllShardsOwned : IShardOwnership
{
    public static readonly AllShardsOwned Instance = new();

    private AllShardsOwned()
    {
    }

    public bool Owns(string shard) => true;

    public Task AcquireAsync(IEnumerable<string> shards, CancellationToken ct) => Task.CompletedTask;
}
