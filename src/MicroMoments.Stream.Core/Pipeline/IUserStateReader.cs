using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Where the load stage reads user state from (Redis in the worker, a dictionary in tests).</summary>
public interface IUserStateReader
{
    /// <summary>
    /// The given users of one shard in one round trip; absent users are in neither part of the result. A value that cannot be
    /// read is in <see cref="StateLoad.Unreadable"/>, already copied to its quarantine key, and never fails the call.
    /// </summary>
    Task<StateLoad> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct);

    /// <summary>The shard that holds a user's state, from the user index; null for a user never saved.</summary>
    Task<string?> ShardOfAsync(string userId, CancellationToken ct);
}

/// <summary>What one load found: the readable states by user id, and the values that could not be read.</summary>
public sealed record StateLoad(Dictionary<string, UserState> Found, IReadOnlyList<UnreadableState> Unreadable)
{
    public static StateLoad Of(Dictionary<string, UserState> found) => new(found, []);
}

/// <summary>
/// A user's stored state that could not be read (<see cref="UnreadableStateException"/>): its raw bytes, where they were,
/// where they are kept now (<see cref="QuarantineKey"/>, for the documented quarantine time), why, and when it was found.
/// </summary>
public sealed record UnreadableState(string Shard, string UserId, string Key, string QuarantineKey, byte[] Raw, string Error, DateTimeOffset At);
