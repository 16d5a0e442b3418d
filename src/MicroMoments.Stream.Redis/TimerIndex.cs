namespace MicroMoments.Stream.Redis;

/// <summary>The timer index of the owned shards: which users have a timer due, and how many have one pending.</summary>
public sealed class TimerIndex(UserStateStore store)
{
    /// <summary>Per shard with any, up to <paramref name="limit"/> users with a timer due at or before <paramref name="nowMs"/>.</summary>
    public async Task<List<(string Shard, string[] Users)>> DueAsync(IEnumerable<string> shards, long nowMs, int limit, CancellationToken ct)
    {
        var due = new List<(string Shard, string[] Users)>();
        foreach (var shard in shards)
        {
            var users = await store.DueUsersAsync(shard, nowMs, limit, ct);
            if (users.Length > 0)
            {
                due.Add((shard, users));
            }
        }
        return due;
    }

    /// <summary>The users with a pending timer in the given shards (one ZCARD each).</summary>
    public async Task<long> PendingAsync(IEnumerable<string> shards, CancellationToken ct)
    {
        long pending = 0;
        foreach (var shard in shards)
        {
            pending += await store.PendingTimersAsync(shard, ct);
        }
        return pending;
    }
}
