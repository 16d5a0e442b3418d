using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Redis;

/// <summary>The load stage's reads, from the Redis store.</summary>
public sealed class UserStateReader(UserStateStore store) : IUserStateReader
{
    public Task<Dictionary<string, UserState>> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct) =>
        store.LoadAsync(shard, userIds, ct);

    public Task<string?> ShardOfAsync(string userId, CancellationToken ct) => store.ShardOfAsync(userId, ct);
}
