namespace MicroMoments.Stream.Redis;

/// <summary>The timer index of the owned shards: which users have a timer due, and how many have one pending.</summary>
public sealed class TimerIndex(UserStateStore store)
{
    /// <summary>
    /// Per shard with any, up to <paramref name="limit"/> users with a timer due at or before <paramref name="nowMs"/>:
    /// every shard's query in one pipelined round trip (one per cluster node).
    /// </summary>
    public async Task<List<(string Shard, string[] Users)>> DueAsync(IReadOnlyCollection<string> shards, long nowMs, int limit, CancellationToken ct) =>
        shards.Count == 0 ? [] : (await store.DueUsersAsync(shards, nowMs, limit, ct)).Where(d => d.Users.Length > 0).ToList();

    /// <summary>The users with a pending timer in the given shards (one ZCARD each, in one round trip).</summary>
    public Task<long> PendingAsync(IReadOnlyCollection<string> shards, CancellationToken ct) =>
        shards.Count == 0 ? Task.FromResult(0L) : store.PendingTimersAsync(shards, ct);
}
