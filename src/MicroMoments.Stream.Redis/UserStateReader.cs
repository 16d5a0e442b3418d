using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Redis;

/// <summary>The load stage's reads, from the Redis store.</summary>
public sealed class UserStateReader(UserStateStore store) : IUserStateReader
{
    public Task<StateLoad> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct) =>
        store.LoadAsync(shard, userIds, ct);

    public Task<string?> ShardOfAsync(string userId, CancellationToken ct) => store.ShardOfAsync(userId, ct);
}
