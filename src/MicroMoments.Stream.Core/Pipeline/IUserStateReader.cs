using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Where the load stage reads user state from (Redis in the worker, a dictionary in tests).</summary>
public interface IUserStateReader
{
    /// <summary>The given users of one shard in one round trip; absent users are missing from the result.</summary>
    Task<Dictionary<string, UserState>> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct);

    /// <summary>The shard that holds a user's state, from the user index; null for a user never saved.</summary>
    Task<string?> ShardOfAsync(string userId, CancellationToken ct);
}
