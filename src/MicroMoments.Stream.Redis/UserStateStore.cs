using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>Loads and saves user state and the timer index in Redis, in as few round trips as a batch allows.</summary>
public sealed class UserStateStore(IConnectionMultiplexer redis, RedisOptions options, ResiliencePipeline resilience, RedisTelemetry? telemetry = null,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private Task<T> Timed<T>(string operation, Func<Task<T>> call) => telemetry is null ? call() : telemetry.TimeAsync(operation, call);

    private readonly RedisKeys _keys = new(options.KeyPrefix);

    public RedisKeys Keys => _keys;

    /// <summary>
    /// Loads the given users of one shard in one pipelined round trip; absent users are missing from the result. A value that
    /// cannot be read is copied to its quarantine key (one more round trip, only then) and returned as unreadable.
    /// </summary>
    public async Task<StateLoad> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var keys = userIds.Select(u => _keys.User(shard, u)).ToArray();
        var values = await Timed("load", async () => await resilience.ExecuteAsync(
            async _ => await redis.GetDatabase().StringGetAsync(keys), ct));
        var result = new Dictionary<string, UserState>(userIds.Count, StringComparer.Ordinal);
        List<UnreadableState>? unreadable = null;
        var i = 0;
        foreach (var userId in userIds)
        {
            var v = values[i++];
            if (v.IsNull)
            {
                continue;
            }
            var bytes = (byte[])v!;
            try
            {
                result[userId] = UserStateSerializer.Read(bytes, userId);
            }
            catch (UnreadableStateException ex)
            {
                (unreadable ??= []).Add(new UnreadableState(shard, userId, keys[i - 1]!, _keys.Quarantine(shard, userId)!, bytes, ex.Message, _time.GetUtcNow()));
            }
        }
        if (unreadable is null)
        {
            return StateLoad.Of(result);
        }
        await QuarantineAsync(unreadable, ct);
        return new StateLoad(result, unreadable);
    }

    /// <summary>
    /// Keeps unreadable states' bytes under their quarantine keys before the batch overwrites them with fresh states. Plain SETs
    /// outside the fenced write: an instance that lost the shard can only write the same bytes again, and a later quarantine
    /// of the same user replaces an older one.
    /// </summary>
    private Task QuarantineAsync(List<UnreadableState> unreadable, CancellationToken ct) =>
        Timed("quarantine", async () => await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            await Task.WhenAll(unreadable.Select(u => db.StringSetAsync(u.QuarantineKey, u.Raw, options.QuarantineTtl)));
            return true;
        }, ct));

    /// <summary>Why a stored value cannot be read as <paramref name="userId"/>'s state, or null when it can (for <c>explain</c> and the console).</summary>
    private static (UserState? State, string? Error) TryRead(RedisValue value, string userId)
    {
        try
        {
            return (UserStateSerializer.Read((byte[])value!, userId), null);
        }
        catch (UnreadableStateException ex)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>How many recent decisions are kept per user for <c>explain</c>.</summary>
    public const int RecentDecisions = 50;

    // One script per shard and batch: atomic like MULTI/EXEC (all keys share the shard's hash tag, so one
    // slot), but a single command on the wire instead of one queued command per user. It is fenced: an
    // instance that lost the partition (its epoch is no longer the shard's) cannot overwrite the new owner.
    // It is applied once: a retry of a write that already ran (its reply was lost, or it succeeded while
    // another shard of the batch, on another cluster node, failed) changes nothing, so the decisions and
    // counters, which are not idempotent, are not pushed or incremented twice.
    // Apart from one SET per user (and a ZADD or ZREM when a user's earliest timer moved), its commands do
    // not grow with the users: decisions are one HMGET, one HSET and one PEXPIRE of the shard's hash of the
    // day (see DecisionDay), counters one HINCRBY per field the batch changed, summed over its users.
    // KEYS: the timer index, the owner epoch, the last applied write, the outbox, the counters, the day's
    // decisions, n user keys.
    // ARGV: TTL in ms, the writer's epoch, n, the write's id, the outbox ('' = none), m, k, then n values,
    // n index scores ('' = remove, '-' = leave as is), n user ids, m user ids with decisions, their m
    // decisions (newline-separated JSON, newest first), k counter fields, their k increments. The outbox
    // replaces the previous batch's, whose messages were all acknowledged before this write started.
    private const string SaveScript = """
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then
          return -1
        end
        local n = tonumber(ARGV[3])
        if redis.call('GET', KEYS[3]) == ARGV[4] then
          return n
        end
        local unpack = unpack or table.unpack
        local ttl = ARGV[1]
        local m, k = tonumber(ARGV[6]), tonumber(ARGV[7])
        local chunk = 1000 -- users per HMGET and HSET: unpack is bounded by Lua's C stack
        local u, a = 6, 7 -- KEYS and ARGV before the first user
        if ARGV[5] == '' then
          redis.call('DEL', KEYS[4])
        else
          redis.call('SET', KEYS[4], ARGV[5], 'PX', ttl)
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
        local d = a + 3 * n -- ARGV before the first user with decisions
        for c = 1, m, chunk do
          local ids = {}
          for j = c, math.min(m, c + chunk - 1) do
            ids[#ids + 1] = ARGV[d + j]
          end
          local earlier = redis.call('HMGET', KEYS[6], unpack(ids))
          local fields = {}
          for x = 1, #ids do
            local v = ARGV[d + m + c + x - 1]
            if earlier[x] then
              v = v .. '\n' .. earlier[x]
            end
            local at = 0
            for _ = 1, 50 do -- RecentDecisions
              at = string.find(v, '\n', at + 1, true)
              if not at then
                break
              end
            end
            fields[#fields + 1] = ids[x]
            fields[#fields + 1] = at and string.sub(v, 1, at - 1) or v
          end
          redis.call('HSET', KEYS[6], unpack(fields))
        end
        if m > 0 then
          redis.call('PEXPIRE', KEYS[6], ttl)
        end
        local c = d + 2 * m -- ARGV before the first counter field
        for h = 1, k do
          redis.call('HINCRBY', KEYS[5], ARGV[c + h], ARGV[c + k + h])
        end
        redis.call('SET', KEYS[3], ARGV[4], 'PX', ttl)
        return n
        """;

    // Decisions are kept in one hash per shard and day, each expiring a TTL after its last write. Measured against the
    // alternative that moves a user's older decisions into the current hash so a user never holds more than 50 (a strict
    // bound, as the per-user lists had): that rewrites up to 50 decisions per user and batch. Redis CPU per script of 38
    // users with 2 decisions each, histories full: per-user lists 0.60 ms, day hashes 0.55 ms, carried forward 1.1 ms.
    // The bound here is 50 decisions per user and day, each kept a TTL; explain reads every day's field, newest first.
    private static long DecisionDay(DateTimeOffset now) => now.ToUnixTimeMilliseconds() / 86_400_000;

    /// <summary>The days whose decision hashes can still exist at <paramref name="now"/>, today first.</summary>
    private long[] DecisionDays(DateTimeOffset now)
    {
        var today = DecisionDay(now);
        var days = new long[1 + (long)Math.Ceiling(options.StateTtl.TotalDays)];
        for (var i = 0; i < days.Length; i++)
        {
            days[i] = today - i;
        }
        return days;
    }

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
        var k = counters?.Sum(c => c.Value.Count) ?? 0;
        const int u = 6, a = 7; // keys and args before the first user (see SaveScript)
        var keys = new RedisKey[u + n];
        var args = new RedisValue[a + 3 * n + 2 * m + 2 * k];
        keys[0] = _keys.Timers(shard);
        keys[1] = _keys.Owner(shard);
        keys[2] = _keys.LastWrite(shard);
        keys[3] = _keys.Outbox(shard);
        keys[4] = _keys.Counters(shard);
        keys[5] = _keys.Decisions(shard, DecisionDay(_time.GetUtcNow()));
        args[0] = (long)options.StateTtl.TotalMilliseconds;
        args[1] = epoch;
        args[2] = n;
        args[3] = Guid.NewGuid().ToString("N");
        args[4] = outbox ?? RedisValue.EmptyString;
        args[5] = m;
        args[6] = k;
        var i = 0;
        foreach (var user in users)
        {
            keys[u + i] = _keys.User(shard, user.UserId);
            args[a + n + i] = IndexUpdate(user); // before serialising: it records the new index score in the state
            args[a + i] = UserStateSerializer.Serialize(user, options.StateFormat);
            args[a + 2 * n + i] = user.UserId;
            i++;
        }
        var d = a + 3 * n;
        var j = 0;
        foreach (var (userId, lines) in decisions ?? new Dictionary<string, List<string>>())
        {
            args[d + j] = userId;
            args[d + m + j] = NewestFirst(lines);
            j++;
        }
        var c = d + 2 * m;
        var h = 0;
        foreach (var (ruleId, fields) in counters ?? new Dictionary<string, Dictionary<string, long>>())
        {
            foreach (var (field, by) in fields)
            {
                args[c + h] = $"{ruleId}|{field}";
                args[c + k + h] = by;
                h++;
            }
        }
        return new ShardWrite(shard, epoch, keys, args, newUsers.ToArray(), outbox is not null);
    }

    /// <summary>A batch's decisions of one user (oldest first) as the script stores them: newest first, at most <see cref="RecentDecisions"/>.</summary>
    private static string NewestFirst(List<string> lines)
    {
        var kept = lines.Count <= RecentDecisions ? lines : lines.GetRange(lines.Count - RecentDecisions, RecentDecisions);
        return string.Join('\n', Enumerable.Reverse(kept));
    }

    // KEYS: the owner epoch, the outbox, the last applied write. ARGV: the writer's epoch, and the id of the write whose
    // outbox this is ('' = whatever outbox is there, for a new owner that has just recovered it). A stale owner cannot clear
    // the new owner's outbox, and a clear that arrives after a later write of the shard leaves that write's outbox alone:
    // so a batch's clear need not finish before the next batch's write starts.
    private const string ClearOutboxScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return -1
        end
        if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[2] then
          return 0
        end
        return redis.call('DEL', KEYS[2])
        """;

    /// <summary>The shard's outbox as last written, or null: read by a new owner right after <see cref="AcquireAsync"/>.</summary>
    public async Task<byte[]?> ReadOutboxAsync(string shard, CancellationToken ct) =>
        (byte[]?)await Timed("outbox", async () => await resilience.ExecuteAsync(async _ => await redis.GetDatabase().StringGetAsync(_keys.Outbox(shard)), ct));

    /// <summary>Deletes the outboxes of the given shards, whatever write left them; fenced by epoch (a new owner, after recovering them).</summary>
    public Task ClearOutboxesAsync(IReadOnlyCollection<(string Shard, long Epoch)> shards, CancellationToken ct) =>
        ClearOutboxesAsync(shards.Select(s => (s.Shard, s.Epoch, RedisValue.EmptyString)).ToList(), ct);

    /// <summary>
    /// Deletes the outboxes the given writes left once every message in them is acknowledged; fenced by epoch, and a no-op
    /// for a shard written again since (its outbox is that later write's).
    /// </summary>
    public Task ClearOutboxesAsync(IReadOnlyCollection<ShardWrite> writes, CancellationToken ct) =>
        ClearOutboxesAsync(writes.Select(w => (w.Shard, w.Epoch, w.Args[3])).ToList(), ct);

    private Task ClearOutboxesAsync(List<(string Shard, long Epoch, RedisValue WriteId)> shards, CancellationToken ct) =>
        shards.Count == 0 ? Task.CompletedTask : Timed("outbox", async () => await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            await Task.WhenAll(shards.Select(s =>
                db.ScriptEvaluateAsync(ClearOutboxScript, [_keys.Owner(s.Shard), _keys.Outbox(s.Shard), _keys.LastWrite(s.Shard)], [s.Epoch, s.WriteId])));
            return true;
        }, ct));

    /// <summary>
    /// Every shard's counters summed: rule id ("" for cohorts) → field → total. Scans each primary; adds in the per-rule
    /// hashes older versions wrote (<see cref="RedisKeys.LegacyStatsPattern"/>), which no longer change.
    /// </summary>
    public async Task<Dictionary<string, Dictionary<string, long>>> ReadCountersAsync(CancellationToken ct)
    {
        var totals = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        void Add(string rule, string field, long by)
        {
            if (!totals.TryGetValue(rule, out var fields))
            {
                totals[rule] = fields = new Dictionary<string, long>(StringComparer.Ordinal);
            }
            fields[field] = fields.GetValueOrDefault(field) + by;
        }
        var db = redis.GetDatabase();
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            var seen = new HashSet<string>(StringComparer.Ordinal); // a key can match two patterns
            foreach (var pattern in new[] { _keys.CountersPattern, _keys.LegacyStatsPattern, _keys.LegacyCohortsPattern })
            {
                await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 500).WithCancellation(ct))
                {
                    if (!seen.Add((string)key!) || _keys.CounterKind((string)key!) is not { } kind)
                    {
                        continue;
                    }
                    foreach (var e in await db.HashGetAllAsync(key))
                    {
                        var name = (string)e.Name!;
                        if (!kind.Current)
                        {
                            Add(kind.Rule, name, (long)e.Value);
                        }
                        else if (SplitCounterField(name) is { } split)
                        {
                            Add(split.Rule, split.Field, (long)e.Value);
                        }
                    }
                }
            }
        }
        return totals;
    }

    /// <summary>
    /// "&lt;rule id&gt;|&lt;field&gt;" split where <c>report</c> expects it: the field is "&lt;variant or day&gt;|&lt;metric&gt;",
    /// with no '|' of its own, so the rule id (which may hold one) ends at the second '|' from the end.
    /// </summary>
    private static (string Rule, string Field)? SplitCounterField(string name)
    {
        var last = name.LastIndexOf('|');
        var split = last > 0 ? name.LastIndexOf('|', last - 1) : -1;
        return split < 0 ? null : (name[..split], name[(split + 1)..]);
    }

    /// <summary>
    /// The user's most recent decisions as stored (JSON), newest first, at most <see cref="RecentDecisions"/>: the user's
    /// field in each day's decision hash of the shard and the list an older version kept, in one round trip.
    /// </summary>
    public async Task<string[]> RecentDecisionsAsync(string shard, string userId, CancellationToken ct) =>
        await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var days = DecisionDays(_time.GetUtcNow()).Select(day => batch.HashGetAsync(_keys.Decisions(shard, day), userId)).ToArray();
            var legacy = batch.ListRangeAsync(_keys.LegacyDecisions(shard, userId), 0, RecentDecisions - 1);
            batch.Execute();
            var lines = new List<string>();
            foreach (var value in await Task.WhenAll(days))
            {
                if (value.HasValue)
                {
                    lines.AddRange(((string)value!).Split('\n'));
                }
            }
            lines.AddRange((await legacy).Select(v => (string)v!));
            return lines.Take(RecentDecisions).ToArray();
        }, ct);

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
            var found = write.NewUsers.Length > 0 ? await IndexAsync(db, write.Shard, write.NewUsers) : null;
            return ((long)await db.ScriptEvaluateAsync(SaveScript, write.Keys, write.Args) >= 0, found);
        }, ct);
        foreach (var (userId, other) in splits ?? [])
        {
            onSplit?.Invoke(userId, other);
        }
        return written;
    });

    /// <summary>
    /// Points new users' index entries at the shard unless they name another one, and returns those others: the user's
    /// state is split between two partitions. Outside the save script: each entry lives in the user's own slot. Written
    /// first, because an extra entry is harmless but a missing one is for ever: after a crash between the two, the
    /// restarted worker finds the user's state and no longer sees a new user, so <c>explain</c> could not find them.
    /// </summary>
    /// <remarks>
    /// One pipelined batch (a round trip per cluster node) of SET NX and GET per user, plain commands where a script per
    /// user cost an EVAL each. SET NX is the check-and-set, so of two instances creating the same user on two partitions at
    /// once, one always sees the other. An entry that already names this shard (the user's state expired before it, or a
    /// retry) has its TTL renewed in a second batch, as the script did: that is rare.
    /// </remarks>
    private async Task<List<(string UserId, string Other)>?> IndexAsync(IDatabase db, string shard, string[] users)
    {
        var ttl = options.StateTtl;
        var batch = db.CreateBatch();
        var sets = new Task<bool>[users.Length];
        var gets = new Task<RedisValue>[users.Length];
        for (var i = 0; i < users.Length; i++)
        {
            sets[i] = batch.StringSetAsync(_keys.UserIndex(users[i]), shard, ttl, When.NotExists);
            gets[i] = batch.StringGetAsync(_keys.UserIndex(users[i]));
        }
        batch.Execute();
        await Task.WhenAll(sets);
        try
        {
            await Task.WhenAll(gets);
        }
        catch (RedisServerException ex) when (IsWrongType(ex))
        {
            // An index entry of another Redis type (a hand-made key, say): handled per user below.
        }
        List<(string UserId, string Other)>? others = null;
        List<int>? renew = null, missed = null, replace = null;
        for (var i = 0; i < users.Length; i++)
        {
            if (sets[i].Result)
            {
                continue; // set now: nothing named another shard
            }
            if (gets[i].IsFaulted)
            {
                if (gets[i].Exception!.InnerException is RedisServerException wrong && IsWrongType(wrong))
                {
                    (replace ??= []).Add(i); // a pointer that cannot be read is none: this shard's replaces it
                    continue;
                }
                await gets[i]; // any other error fails the write, as before
            }
            if (gets[i].Result.IsNull)
            {
                (missed ??= []).Add(i); // there at the SET, expired by the GET: set it again, or the user has none
                continue;
            }
            if ((string)gets[i].Result! == shard)
            {
                (renew ??= []).Add(i);
            }
            else
            {
                (others ??= []).Add((users[i], (string)gets[i].Result!));
            }
        }
        if (renew is not null || missed is not null || replace is not null)
        {
            var again = db.CreateBatch();
            var expiries = (renew ?? []).Select(i => (Task)again.KeyExpireAsync(_keys.UserIndex(users[i]), ttl))
                .Concat((missed ?? []).Select(i => (Task)again.StringSetAsync(_keys.UserIndex(users[i]), shard, ttl, When.NotExists)))
                .Concat((replace ?? []).Select(i => (Task)again.StringSetAsync(_keys.UserIndex(users[i]), shard, ttl))).ToArray();
            again.Execute();
            await Task.WhenAll(expiries);
        }
        return others;
    }

    /// <summary>User ids of the shard with a timer due at or before <paramref name="nowMs"/>, earliest first.</summary>
    public async Task<string[]> DueUsersAsync(string shard, long nowMs, int limit, CancellationToken ct) =>
        (await DueUsersAsync([shard], nowMs, limit, ct))[0].Users;

    /// <summary>
    /// Each shard's user ids with a timer due at or before <paramref name="nowMs"/> (earliest first, at most
    /// <paramref name="limit"/> a shard), in the order of <paramref name="shards"/>: one pipelined batch, a round trip per node.
    /// </summary>
    public async Task<IReadOnlyList<(string Shard, string[] Users)>> DueUsersAsync(IReadOnlyCollection<string> shards, long nowMs, int limit, CancellationToken ct) =>
        await Timed("due_timers", async () => await resilience.ExecuteAsync(async _ =>
        {
            var batch = redis.GetDatabase().CreateBatch();
            var reads = shards.Select(s => (Shard: s, Read: batch.SortedSetRangeByScoreAsync(_keys.Timers(s), double.NegativeInfinity, nowMs, take: limit))).ToArray();
            batch.Execute();
            await Task.WhenAll(reads.Select(r => r.Read));
            return (IReadOnlyList<(string Shard, string[] Users)>)reads.Select(r => (r.Shard, r.Read.Result.Select(v => (string)v!).ToArray())).ToArray();
        }, ct));

    /// <summary>Number of users with a pending timer in the shard.</summary>
    public async Task<long> PendingTimersAsync(string shard, CancellationToken ct) =>
        await PendingTimersAsync([shard], ct);

    /// <summary>Number of users with a pending timer in the given shards together: one pipelined batch of ZCARDs.</summary>
    public async Task<long> PendingTimersAsync(IReadOnlyCollection<string> shards, CancellationToken ct) =>
        await resilience.ExecuteAsync(async _ =>
        {
            var batch = redis.GetDatabase().CreateBatch();
            var counts = shards.Select(s => batch.SortedSetLengthAsync(_keys.Timers(s))).ToArray();
            batch.Execute();
            return (await Task.WhenAll(counts)).Sum();
        }, ct);

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

    /// <summary>Adds this instance's arm counts to the shared ones (<see cref="RedisKeys.BanditArms"/>) and returns every instance's totals.</summary>
    public async Task<Dictionary<string, ArmCounts>> SyncArmsAsync(IReadOnlyDictionary<string, ArmCounts> pending, CancellationToken ct) =>
        await Timed("bandit", async () => await resilience.ExecuteAsync(async _ =>
        {
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var writes = pending.SelectMany(p => new[]
            {
                p.Value.Sent == 0 ? Task.CompletedTask : batch.HashIncrementAsync(_keys.BanditArms, p.Key + "|sent", p.Value.Sent),
                p.Value.Converted == 0 ? Task.CompletedTask : batch.HashIncrementAsync(_keys.BanditArms, p.Key + "|" + ArmStatistics.Converted, p.Value.Converted),
            }).ToList();
            var read = batch.HashGetAllAsync(_keys.BanditArms);
            batch.Execute();
            await Task.WhenAll(writes);
            var totals = new Dictionary<string, ArmCounts>(StringComparer.Ordinal);
            foreach (var entry in await read)
            {
                var name = (string)entry.Name!;
                var bar = name.LastIndexOf('|');
                if (bar <= 0 || !entry.Value.TryParse(out long n))
                {
                    continue; // not a field this version writes
                }
                var counts = name.AsSpan(bar + 1) switch
                {
                    "sent" => new ArmCounts(n, 0),
                    ArmStatistics.Converted => new ArmCounts(0, n),
                    _ => default,
                };
                totals[name[..bar]] = totals.GetValueOrDefault(name[..bar]) + counts;
            }
            return totals;
        }, ct));

    /// <summary>Adds this instance's hourly rule outcomes (hour → "rule|series" → count) to the shared hashes.</summary>
    public async Task AddHourlyAsync(IReadOnlyDictionary<string, Dictionary<string, long>> pending, CancellationToken ct) =>
        await Timed("hourly", async () => await resilience.ExecuteAsync(async _ =>
        {
            var batch = redis.GetDatabase().CreateBatch();
            var writes = new List<Task>();
            foreach (var (hour, fields) in pending)
            {
                writes.AddRange(fields.Select(f => (Task)batch.HashIncrementAsync(_keys.Hourly(hour), f.Key, f.Value)));
                writes.Add(batch.KeyExpireAsync(_keys.Hourly(hour), TimeSpan.FromHours(HourlyOutcomes.Hours + 2)));
            }
            batch.Execute();
            await Task.WhenAll(writes);
            return true;
        }, ct));

    /// <summary>The hourly hashes <see cref="HourlyOutcomes.Chart"/> reads for <paramref name="now"/>: hour → "rule|series" → count.</summary>
    public async Task<Dictionary<string, Dictionary<string, long>>> ReadHourlyAsync(DateTimeOffset now, CancellationToken ct) =>
        await Timed("hourly", async () => await resilience.ExecuteAsync(async _ =>
        {
            var batch = redis.GetDatabase().CreateBatch();
            var reads = HourlyOutcomes.HoursBefore(now).Select(h => (Hour: h, Read: batch.HashGetAllAsync(_keys.Hourly(h)))).ToList();
            batch.Execute();
            var byHour = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
            foreach (var (hour, read) in reads)
            {
                var fields = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var e in await read)
                {
                    if (e.Value.TryParse(out long n))
                    {
                        fields[(string)e.Name!] = n;
                    }
                }
                byHour[hour] = fields;
            }
            return byHour;
        }, ct));

    /// <summary>The shard that holds a user's state, from the user index; null for a user never saved.</summary>
    public async Task<string?> ShardOfAsync(string userId, CancellationToken ct) =>
        await Timed("index", async () => await resilience.ExecuteAsync(
            async _ => await IndexedShardAsync(redis.GetDatabase(), userId), ct));

    /// <summary>
    /// The user index's shard for a user; null when there is none, or when the key holds another Redis type: a pointer that
    /// cannot be read is no pointer (the next save of a new user replaces it), never an error that would fail the batch.
    /// </summary>
    private async Task<string?> IndexedShardAsync(IDatabaseAsync db, string userId)
    {
        try
        {
            return (string?)await db.StringGetAsync(_keys.UserIndex(userId));
        }
        catch (RedisServerException ex) when (IsWrongType(ex))
        {
            return null;
        }
    }

    private const string WrongTypeKey = StateUnreadable.WrongTypeKeyError;

    private static bool IsWrongType(RedisServerException ex) => ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);

    /// <summary>
    /// Every state the user has, in any shard: the index names one, but producers that partition differently leave
    /// states in several. Looks in each registered shard (one GET per partition, pipelined), the index's shard first. A value
    /// that cannot be read (or a key of another Redis type) is listed as unreadable, with where its bytes are or will be kept.
    /// </summary>
    public async Task<List<FoundState>> FindAllAsync(string userId, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        var indexed = await IndexedShardAsync(db, userId);
        var shards = (await db.SetMembersAsync(_keys.Shards)).Select(s => (string)s!).Order(StringComparer.Ordinal).ToList();
        if (indexed is not null)
        {
            shards.Remove(indexed);
            shards.Insert(0, indexed);
        }
        var batch = db.CreateBatch();
        var reads = shards.Select(s => (Value: batch.StringGetAsync(_keys.User(s, userId)), Quarantined: batch.KeyTimeToLiveAsync(_keys.Quarantine(s, userId)))).ToArray();
        batch.Execute();
        var found = new List<FoundState>();
        for (var i = 0; i < shards.Count; i++)
        {
            RedisValue value;
            string? error = null;
            try
            {
                value = await reads[i].Value.WaitAsync(ct);
            }
            catch (RedisServerException ex) when (IsWrongType(ex))
            {
                (value, error) = (RedisValue.Null, WrongTypeKey);
            }
            var kept = await reads[i].Quarantined.WaitAsync(ct);
            if (value.HasValue)
            {
                (var state, error) = TryRead(value, userId);
                if (state is not null)
                {
                    // Readable again (the worker started the user fresh): still say where the earlier bytes are kept.
                    found.Add(new FoundState(shards[i], state, kept is null ? null : new StateUnreadable(_keys.Quarantine(shards[i], userId)!, null, kept)));
                    continue;
                }
            }
            if (error is not null || kept is not null)
            {
                found.Add(new FoundState(shards[i], null, new StateUnreadable(_keys.Quarantine(shards[i], userId)!, error, kept)));
            }
        }
        return found;
    }

    /// <summary>Finds a user's state in the shard the index names; throws <see cref="UnreadableStateException"/> for a value that cannot be read.</summary>
    public async Task<(string Shard, UserState State)?> FindAsync(string userId, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        if (await IndexedShardAsync(db, userId) is not { } shard)
        {
            return null;
        }
        var value = await db.StringGetAsync(_keys.User(shard, userId));
        return value.HasValue ? (shard, UserStateSerializer.Read((byte[])value!, userId)) : null;
    }
}

/// <summary>
/// One shard's state of a user as <c>explain</c> and the console find it: <see cref="State"/>, or why there is none that can be
/// read (<see cref="Unreadable"/>, also set beside a readable state while the bytes of an earlier unreadable one are kept).
/// </summary>
public sealed record FoundState(string Shard, UserState? State, StateUnreadable? Unreadable);

/// <summary>
/// A state that cannot be read: <see cref="Error"/> is null when the stored value is fine again (the worker started the user
/// fresh) and only the quarantined bytes remain, kept for <see cref="KeptFor"/> more.
/// </summary>
public sealed record StateUnreadable(string QuarantineKey, string? Error, TimeSpan? KeptFor)
{
    /// <summary>"state unreadable (quarantined at …)" as <c>explain</c> and the console say it.</summary>
    public string Describe(DateTimeOffset now) => Error is null
        ? $"an earlier state was unreadable (quarantined at {QuarantineKey}{Until(now)})"
        : KeptFor is null
            ? Error == WrongTypeKeyError
                ? $"state unreadable ({Error}); the worker reads it as no state and replaces it when it next saves the user (there are no state bytes to quarantine)"
                : $"state unreadable ({Error}); the worker quarantines it at {QuarantineKey} when it next loads the user, and starts the user fresh"
            : $"state unreadable (quarantined at {QuarantineKey}{Until(now)}): {Error}";

    internal const string WrongTypeKeyError = "the key holds another Redis type, not a string";

    private string Until(DateTimeOffset now) => KeptFor is { } k ? $", kept until {now + k:yyyy-MM-dd HH:mm} UTC" : "";
}

/// <summary>One shard's users and outbox, serialised and ready to write in one script call.</summary>
public sealed record ShardWrite(string Shard, long Epoch, RedisKey[] Keys, RedisValue[] Args, string[] NewUsers, bool HasOutbox)
{
    /// <summary>The users' serialised states, as the script receives them: after its 7 fixed arguments (see SaveScript).</summary>
    public IEnumerable<byte[]> States => Args.Skip(7).Take((int)Args[2]).Select(v => (byte[])v!);
}
