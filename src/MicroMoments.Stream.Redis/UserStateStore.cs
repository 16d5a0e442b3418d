using MicroMoments.Stream.Core.State;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>Loads and saves user state and the timer index in Redis, in as few round trips as a batch allows.</summary>
public sealed class UserStateStore(IConnectionMultiplexer redis, RedisOptions options, ResiliencePipeline resilience)
{
    private readonly RedisKeys _keys = new(options.KeyPrefix);

    public RedisKeys Keys => _keys;

    /// <summary>Loads the given users of one shard in one pipelined round trip; absent users are missing from the result.</summary>
    public async Task<Dictionary<string, UserState>> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var keys = userIds.Select(u => _keys.User(shard, u)).ToArray();
        var values = await resilience.ExecuteAsync(
            async _ => await redis.GetDatabase().StringGetAsync(keys), ct);
        var result = new Dictionary<string, UserState>(userIds.Count, StringComparer.Ordinal);
        var i = 0;
        foreach (var userId in userIds)
        {
            var v = values[i++];
            if (v.HasValue)
            {
                result[userId] = UserStateSerializer.Deserialize((byte[])v!);
            }
        }
        return result;
    }

    /// <summary>
    /// Writes the changed users of one shard and their timer-index entries atomically (MULTI/EXEC on the
    /// shard's slot), so a crash never leaves a timer without its index entry or the reverse.
    /// </summary>
    public Task SaveAsync(string shard, IReadOnlyCollection<UserState> users, IReadOnlyCollection<string> newUsers, CancellationToken ct) =>
        resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            var tx = db.CreateTransaction();
            var timers = _keys.Timers(shard);
            var pending = new List<Task>(users.Count * 2 + 1);
            var add = new List<SortedSetEntry>();
            var remove = new List<RedisValue>();
            foreach (var user in users)
            {
                pending.Add(tx.StringSetAsync(_keys.User(shard, user.UserId), UserStateSerializer.Serialize(user), options.StateTtl));
                if (user.NextDueAt is { } due)
                {
                    add.Add(new SortedSetEntry(user.UserId, due));
                }
                else
                {
                    remove.Add(user.UserId);
                }
            }
            if (add.Count > 0)
            {
                pending.Add(tx.SortedSetAddAsync(timers, add.ToArray()));
            }
            if (remove.Count > 0)
            {
                pending.Add(tx.SortedSetRemoveAsync(timers, remove.ToArray()));
            }
            if (!await tx.ExecuteAsync())
            {
                throw new RedisException($"transaction for shard {shard} was not committed");
            }
            await Task.WhenAll(pending);
            if (newUsers.Count > 0)
            {
                // Outside the transaction: the index lives in each user's own slot. An extra entry is harmless.
                var batch = db.CreateBatch();
                var writes = newUsers.Select(u => batch.StringSetAsync(_keys.UserIndex(u), shard, options.StateTtl)).ToArray();
                batch.Execute();
                await Task.WhenAll(writes);
            }
        }, ct).AsTask();

    /// <summary>User ids of the shard with a timer due at or before <paramref name="nowMs"/>, earliest first.</summary>
    public async Task<string[]> DueUsersAsync(string shard, long nowMs, int limit, CancellationToken ct)
    {
        var values = await resilience.ExecuteAsync(async _ =>
            await redis.GetDatabase().SortedSetRangeByScoreAsync(_keys.Timers(shard), double.NegativeInfinity, nowMs, take: limit), ct);
        return values.Select(v => (string)v!).ToArray();
    }

    /// <summary>Number of users with a pending timer in the shard.</summary>
    public async Task<long> PendingTimersAsync(string shard, CancellationToken ct) =>
        await resilience.ExecuteAsync(async _ => await redis.GetDatabase().SortedSetLengthAsync(_keys.Timers(shard)), ct);

    /// <summary>Finds a user's state wherever its shard is, for <c>explain</c>.</summary>
    public async Task<(string Shard, UserState State)?> FindAsync(string userId, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        var shard = await db.StringGetAsync(_keys.UserIndex(userId));
        if (!shard.HasValue)
        {
            return null;
        }
        var value = await db.StringGetAsync(_keys.User(shard!, userId));
        return value.HasValue ? (shard!, UserStateSerializer.Deserialize((byte[])value!)) : null;
    }
}
