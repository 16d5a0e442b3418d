using MicroMoments.Stream.Core.State;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>Loads and saves user state and the timer index in Redis, in as few round trips as a batch allows.</summary>
public sealed class UserStateStore(IConnectionMultiplexer redis, RedisOptions options, ResiliencePipeline resilience, RedisTelemetry? telemetry = null)
{
    private Task<T> Timed<T>(string operation, Func<Task<T>> call) => telemetry is null ? call() : telemetry.TimeAsync(operation, call);

    private readonly RedisKeys _keys = new(options.KeyPrefix);

    public RedisKeys Keys => _keys;

    /// <summary>Loads the given users of one shard in one pipelined round trip; absent users are missing from the result.</summary>
    public async Task<Dictionary<string, UserState>> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var keys = userIds.Select(u => _keys.User(shard, u)).ToArray();
        var values = await Timed("load", async () => await resilience.ExecuteAsync(
            async _ => await redis.GetDatabase().StringGetAsync(keys), ct));
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

    /// <summary>How many recent decisions are kept per user for <c>explain</c>.</summary>
    public const int RecentDecisions = 50;

    // One script per shard and batch: atomic like MULTI/EXEC (all keys share the shard's hash tag, so one
    // slot), but a single command on the wire instead of one queued command per user. It is fenced: an
    // instance that lost the partition (its epoch is no longer the shard's) cannot overwrite the new owner.
    // It is applied once: a retry of a write that already ran (its reply was lost, or it succeeded while
    // another shard of the batch, on another cluster node, failed) changes nothing, so the decision lists
    // and counters, which are not idempotent, are not pushed or incremented twice.
    // KEYS: the timer index, the owner epoch, the last applied write, the outbox, n user keys, m decision
    // lists, k counter hashes.
    // ARGV: TTL in ms, the writer's epoch, n, m, the write's id, the outbox ('' = none), then n values,
    // n index scores ('' = remove, '-' = leave as is), n user ids, m newline-separated decision batches
    // (newest last), k "field<TAB>increment" lines. The outbox replaces the previous batch's, whose
    // messages were all acknowledged before this write started.
    private const string SaveScript = """
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then
          return -1
        end
        local n = tonumber(ARGV[3])
        if redis.call('GET', KEYS[3]) == ARGV[5] then
          return n
        end
        local ttl = ARGV[1]
        local m = tonumber(ARGV[4])
        local u, a = 4, 6 -- KEYS and ARGV before the first user
        if ARGV[6] == '' then
          redis.call('DEL', KEYS[4])
        else
          redis.call('SET', KEYS[4], ARGV[6], 'PX', ttl)
        end
        for i = 1, n do
          redis.call('SET', KEYS[u + i], ARGV[a + i], 'PX', ttl)
          local due = ARGV[a + n + i]
          if due == '' then
            redis.call('ZREM', KEYS[1], ARGV[a + 2 * n + i])
          elseif due ~= '-' then
            redis.call('ZADD', KEYS[1], due, ARGV[a + 2 * n + i])
          end
        end
        for j = 1, m do
          local list = KEYS[u + n + j]
          for line in string.gmatch(ARGV[a + 3 * n + j], '[^\n]+') do
            redis.call('LPUSH', list, line)
          end
          redis.call('LTRIM', list, 0, 49) -- RecentDecisions - 1
          redis.call('PEXPIRE', list, ttl)
        end
        for k = 1, #KEYS - u - n - m do
          local hash = KEYS[u + n + m + k]
          for field, by in string.gmatch(ARGV[a + 3 * n + m + k], '([^\t\n]+)\t(%d+)') do
            redis.call('HINCRBY', hash, field, by)
          end
        end
        redis.call('SET', KEYS[3], ARGV[5], 'PX', ttl)
        return n
        """;

    /// <summary>
    /// Takes ownership of a shard's writes: returns the new epoch to pass to <see cref="Prepare"/>. Also registers the
    /// shard in <see cref="RedisKeys.Shards"/>, for <see cref="FindAllAsync"/>.
    /// </summary>
    public Task<long> AcquireAsync(string shard, CancellationToken ct) =>
        Timed("acquire", async () => await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            var registered = db.SetAddAsync(_keys.Shards, shard);
            var epoch = await db.StringIncrementAsync(_keys.Owner(shard));
            await registered;
            return epoch;
        }, ct));

    /// <summary>
    /// Serialises the changed users of one shard now, so the write can be retried (or overlap the next
    /// batch) without ever picking up changes made after this point.
    /// </summary>
    /// <remarks>
    /// Counters are analytics increments: rule id ("" for sign-up cohorts) → field → increment. The outbox is
    /// the batch's encoded messages for this shard (null when it has none).
    /// </remarks>
    public ShardWrite Prepare(string shard, long epoch, IReadOnlyCollection<UserState> users, IReadOnlyCollection<string> newUsers,
        IReadOnlyDictionary<string, List<string>>? decisions = null, IReadOnlyDictionary<string, Dictionary<string, long>>? counters = null,
        byte[]? outbox = null)
    {
        var n = users.Count;
        var m = decisions?.Count ?? 0;
        var k = counters?.Count ?? 0;
        const int u = 4, a = 6; // keys and args before the first user (see SaveScript)
        var keys = new RedisKey[u + n + m + k];
        var args = new RedisValue[a + 3 * n + m + k];
        keys[0] = _keys.Timers(shard);
        keys[1] = _keys.Owner(shard);
        keys[2] = _keys.LastWrite(shard);
        keys[3] = _keys.Outbox(shard);
        args[0] = (long)options.StateTtl.TotalMilliseconds;
        args[1] = epoch;
        args[2] = n;
        args[3] = m;
        args[4] = Guid.NewGuid().ToString("N");
        args[5] = outbox ?? RedisValue.EmptyString;
        var i = 0;
        foreach (var user in users)
        {
            keys[u + i] = _keys.User(shard, user.UserId);
            args[a + n + i] = IndexUpdate(user); // before serialising: it records the new index score in the state
            args[a + i] = UserStateSerializer.Serialize(user);
            args[a + 2 * n + i] = user.UserId;
            i++;
        }
        var j = 0;
        foreach (var (userId, lines) in decisions ?? new Dictionary<string, List<string>>())
        {
            keys[u + n + j] = _keys.Decisions(shard, userId);
            args[a + 3 * n + j] = string.Join('\n', lines);
            j++;
        }
        var h = 0;
        foreach (var (ruleId, fields) in counters ?? new Dictionary<string, Dictionary<string, long>>())
        {
            keys[u + n + m + h] = ruleId.Length == 0 ? _keys.Cohorts(shard) : _keys.Stats(shard, ruleId);
            args[a + 3 * n + m + h] = string.Join('\n', fields.Select(f => $"{f.Key}\t{f.Value}"));
            h++;
        }
        return new ShardWrite(shard, epoch, keys, args, newUsers.ToArray(), outbox is not null);
    }

    // KEYS: the owner epoch, the outbox. ARGV: the writer's epoch. A stale owner cannot clear the new owner's outbox.
    private const string ClearOutboxScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return -1
        end
        return redis.call('DEL', KEYS[2])
        """;

    /// <summary>The shard's outbox as last written, or null: read by a new owner right after <see cref="AcquireAsync"/>.</summary>
    public async Task<byte[]?> ReadOutboxAsync(string shard, CancellationToken ct) =>
        (byte[]?)await Timed("outbox", async () => await resilience.ExecuteAsync(async _ => await redis.GetDatabase().StringGetAsync(_keys.Outbox(shard)), ct));

    /// <summary>Deletes the outboxes of the given shards once every message in them is acknowledged; fenced by epoch.</summary>
    public Task ClearOutboxesAsync(IReadOnlyCollection<(string Shard, long Epoch)> shards, CancellationToken ct) =>
        shards.Count == 0 ? Task.CompletedTask : Timed("outbox", async () => await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            await Task.WhenAll(shards.Select(s => db.ScriptEvaluateAsync(ClearOutboxScript, [_keys.Owner(s.Shard), _keys.Outbox(s.Shard)], [s.Epoch])));
            return true;
        }, ct));

    /// <summary>Every shard's counters summed: rule id ("" for cohorts) → field → total. Scans each primary.</summary>
    public async Task<Dictionary<string, Dictionary<string, long>>> ReadCountersAsync(CancellationToken ct)
    {
        var totals = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        var db = redis.GetDatabase();
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            foreach (var pattern in new[] { _keys.StatsPattern, _keys.CohortsPattern })
            {
                await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 500).WithCancellation(ct))
                {
                    var name = (string)key!;
                    var rule = name.EndsWith(":cohorts", StringComparison.Ordinal) ? "" : name[(name.IndexOf(":stats:", StringComparison.Ordinal) + 7)..];
                    if (!totals.TryGetValue(rule, out var fields))
                    {
                        totals[rule] = fields = new Dictionary<string, long>(StringComparer.Ordinal);
                    }
                    foreach (var e in await db.HashGetAllAsync(key))
                    {
                        fields[(string)e.Name!] = fields.GetValueOrDefault((string)e.Name!) + (long)e.Value;
                    }
                }
            }
        }
        return totals;
    }

    /// <summary>The user's most recent decisions as stored (JSON), newest first.</summary>
    public async Task<string[]> RecentDecisionsAsync(string shard, string userId, CancellationToken ct) =>
        (await resilience.ExecuteAsync(async _ => await redis.GetDatabase().ListRangeAsync(_keys.Decisions(shard, userId), 0, RecentDecisions - 1), ct))
        .Select(v => (string)v!).ToArray();

    private static readonly RedisValue LeaveIndex = "-";

    /// <summary>
    /// The timer-index change for a user. The score only has to be no later than the earliest due timer,
    /// so a timer pushed later (inactivity, re-armed by every event) needs no index write.
    /// </summary>
    private static RedisValue IndexUpdate(UserState user)
    {
        var next = user.NextDueAt;
        var exact = user.ReindexTimers;
        user.ReindexTimers = false;
        if (next is null)
        {
            if (user.IndexedDueAt is null && !exact)
            {
                return LeaveIndex;
            }
            user.IndexedDueAt = null;
            return RedisValue.EmptyString;
        }
        if (!exact && user.IndexedDueAt is { } indexed && indexed <= next)
        {
            return LeaveIndex;
        }
        user.IndexedDueAt = next;
        return next.Value;
    }

    // KEYS: the user's index entry. ARGV: the shard, the TTL in ms. Sets the entry unless it names another shard, and
    // then returns that shard: the user's state is split between two partitions. One check-and-set, so of two
    // instances creating the same user on two partitions at once, one always sees the other.
    private const string IndexScript = """
        local other = redis.call('GET', KEYS[1])
        if other and other ~= ARGV[1] then
          return other
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return false
        """;

    /// <summary>
    /// Writes a prepared shard atomically: users and their timer-index entries together, so a crash never
    /// leaves a timer without its index entry or the reverse. Safe to retry. Returns false when the
    /// write was refused because another instance owns the shard now. <paramref name="onSplit"/> hears of each new
    /// user whose index already names another shard (user id, that shard): its events arrive on two partitions.
    /// </summary>
    public Task<bool> WriteAsync(ShardWrite write, CancellationToken ct, Action<string, string>? onSplit = null) => Timed("write", async () =>
    {
        var (written, splits) = await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            List<(string UserId, string Other)>? found = null;
            if (write.NewUsers.Length > 0)
            {
                // Outside the script: the index lives in each user's own slot. Written first, because an extra
                // entry is harmless but a missing one is for ever: after a crash between the two, the restarted
                // worker finds the user's state and no longer sees a new user, so `explain` could not find them.
                var ttl = (long)options.StateTtl.TotalMilliseconds;
                var batch = db.CreateBatch();
                var writes = write.NewUsers.Select(u => batch.ScriptEvaluateAsync(IndexScript, [_keys.UserIndex(u)], [write.Shard, ttl])).ToArray();
                batch.Execute();
                var others = await Task.WhenAll(writes);
                for (var i = 0; i < others.Length; i++)
                {
                    if (!others[i].IsNull)
                    {
                        (found ??= []).Add((write.NewUsers[i], (string)others[i]!));
                    }
                }
            }
            return ((long)await db.ScriptEvaluateAsync(SaveScript, write.Keys, write.Args) >= 0, found);
        }, ct);
        foreach (var (userId, other) in splits ?? [])
        {
            onSplit?.Invoke(userId, other);
        }
        return written;
    });

    /// <summary>User ids of the shard with a timer due at or before <paramref name="nowMs"/>, earliest first.</summary>
    public async Task<string[]> DueUsersAsync(string shard, long nowMs, int limit, CancellationToken ct)
    {
        var values = await Timed("due_timers", async () => await resilience.ExecuteAsync(async _ =>
            await redis.GetDatabase().SortedSetRangeByScoreAsync(_keys.Timers(shard), double.NegativeInfinity, nowMs, take: limit), ct));
        return values.Select(v => (string)v!).ToArray();
    }

    /// <summary>Number of users with a pending timer in the shard.</summary>
    public async Task<long> PendingTimersAsync(string shard, CancellationToken ct) =>
        await resilience.ExecuteAsync(async _ => await redis.GetDatabase().SortedSetLengthAsync(_keys.Timers(shard)), ct);

    /// <summary>
    /// Adds this instance's new task-time votes (task → bucket → votes) to the current period's shared hash and returns
    /// the votes of the current and the previous period. Each period's hash expires a TTL after its last write, so votes
    /// (and tasks) older than about the TTL drop out. Integer increments only: no value can make Redis refuse them.
    /// </summary>
    public async Task<Dictionary<string, Dictionary<int, long>>> SyncPopulationAsync(
        IReadOnlyDictionary<string, Dictionary<int, long>> pending, DateTimeOffset now, CancellationToken ct) =>
        await Timed("population", async () => await resilience.ExecuteAsync(async _ =>
        {
            var period = now.ToUnixTimeMilliseconds() / Math.Max(1, (long)options.PopulationTtl.TotalMilliseconds / 2);
            var current = _keys.Population(period);
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var writes = pending.SelectMany(p => p.Value.Select(b => (Task)batch.HashIncrementAsync(current, $"{p.Key}|{b.Key}", b.Value))).ToList();
            if (writes.Count > 0)
            {
                writes.Add(batch.KeyExpireAsync(current, options.PopulationTtl));
            }
            var reads = new[] { batch.HashGetAllAsync(_keys.Population(period - 1)), batch.HashGetAllAsync(current) };
            batch.Execute();
            await Task.WhenAll(writes);
            var totals = new Dictionary<string, Dictionary<int, long>>(StringComparer.Ordinal);
            foreach (var read in reads)
            {
                foreach (var entry in await read)
                {
                    var name = (string)entry.Name!;
                    var bar = name.LastIndexOf('|');
                    if (bar < 0 || !int.TryParse(name.AsSpan(bar + 1), System.Globalization.CultureInfo.InvariantCulture, out var bucket)
                        || !entry.Value.TryParse(out long votes))
                    {
                        continue; // not a field this version writes
                    }
                    var task = name[..bar];
                    if (!totals.TryGetValue(task, out var buckets))
                    {
                        totals[task] = buckets = [];
                    }
                    buckets[bucket] = buckets.GetValueOrDefault(bucket) + votes;
                }
            }
            return totals;
        }, ct));

    /// <summary>The shard that holds a user's state, from the user index; null for a user never saved.</summary>
    public async Task<string?> ShardOfAsync(string userId, CancellationToken ct) =>
        (string?)await Timed("index", async () => await resilience.ExecuteAsync(
            async _ => await redis.GetDatabase().StringGetAsync(_keys.UserIndex(userId)), ct));

    /// <summary>
    /// Every state the user has, in any shard: the index names one, but producers that partition differently leave
    /// states in several. Looks in each registered shard (one GET per partition, pipelined), the index's shard first.
    /// </summary>
    public async Task<List<(string Shard, UserState State)>> FindAllAsync(string userId, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        var indexed = (string?)await db.StringGetAsync(_keys.UserIndex(userId));
        var shards = (await db.SetMembersAsync(_keys.Shards)).Select(s => (string)s!).Order(StringComparer.Ordinal).ToList();
        if (indexed is not null)
        {
            shards.Remove(indexed);
            shards.Insert(0, indexed);
        }
        var batch = db.CreateBatch();
        var reads = shards.Select(s => batch.StringGetAsync(_keys.User(s, userId))).ToArray();
        batch.Execute();
        var values = await Task.WhenAll(reads).WaitAsync(ct);
        var found = new List<(string Shard, UserState State)>();
        for (var i = 0; i < shards.Count; i++)
        {
            if (values[i].HasValue)
            {
                found.Add((shards[i], UserStateSerializer.Deserialize((byte[])values[i]!)));
            }
        }
        return found;
    }

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

/// <summary>One shard's users and outbox, serialised and ready to write in one script call.</summary>
public sealed record ShardWrite(string Shard, long Epoch, RedisKey[] Keys, RedisValue[] Args, string[] NewUsers, bool HasOutbox);
