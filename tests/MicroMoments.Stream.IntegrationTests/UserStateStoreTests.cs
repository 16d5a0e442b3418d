using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Time.Testing;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.IntegrationTests;

[Collection(InfraCollection.Name)]
public sealed class UserStateStoreTests(RedisFixture redis)
{
    private UserStateStore NewStore(string prefix) =>
        new(redis.Connection, new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix }, ResiliencePipeline.Empty);

    [Fact]
    public async Task WriteAsync_OwnerEpochMovedOn_StaleWriteRefusedNewOwnerWrites()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var oldOwner = NewStore(prefix);
        var newOwner = NewStore(prefix);
        var oldEpoch = await oldOwner.AcquireAsync("clickstream:0", default);
        var newEpoch = await newOwner.AcquireAsync("clickstream:0", default);

        var stale = await oldOwner.WriteAsync(oldOwner.Prepare("clickstream:0", oldEpoch, [new UserState { UserId = "u", LastEventAt = 1 }], ["u"]), default);
        var fresh = await newOwner.WriteAsync(newOwner.Prepare("clickstream:0", newEpoch, [new UserState { UserId = "u", LastEventAt = 2 }], ["u"]), default);

        Assert.False(stale);
        Assert.True(fresh);
        Assert.Equal(2, (await newOwner.FindAsync("u", default))!.Value.State.LastEventAt);
    }

    [Theory]
    [InlineData(null, 2)]
    [InlineData(UserStateFormat.Container, 2)]
    [InlineData(UserStateFormat.Binary, 1)]
    [InlineData(UserStateFormat.Json, (byte)'{')]
    public async Task WriteAsync_StateFormatOption_WritesThatFormatAndReadsItBack(UserStateFormat? format, byte first)
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix };
        if (format is { } named)
        {
            options.StateFormat = named;
        }
        var store = new UserStateStore(redis.Connection, options, ResiliencePipeline.Empty);
        var epoch = await store.AcquireAsync("clickstream:0", default);

        Assert.True(await store.WriteAsync(store.Prepare("clickstream:0", epoch, [new UserState { UserId = "u", LastEventAt = 7 }], ["u"]), default));

        var raw = (byte[])(await redis.Connection.GetDatabase().StringGetAsync(new RedisKeys(prefix).User("clickstream:0", "u")))!;
        Assert.Equal(first, raw[0]);
        Assert.Equal(7, (await store.FindAsync("u", default))!.Value.State.LastEventAt);
    }

    [Fact]
    public async Task WriteAsync_SameWriteRetried_StateCountersAndDecisionsAppliedOnce()
    {
        var store = NewStore($"t{Guid.NewGuid():N}:");
        var epoch = await store.AcquireAsync("clickstream:0", default);
        var write = store.Prepare("clickstream:0", epoch, [new UserState { UserId = "u", LastEventAt = 1 }], ["u"],
            new Dictionary<string, List<string>> { ["u"] = ["""{"ruleId":"r"}"""] },
            new Dictionary<string, Dictionary<string, long>> { ["r"] = new() { ["control|matched"] = 1 } });

        Assert.True(await store.WriteAsync(write, default));
        Assert.True(await store.WriteAsync(write, default)); // a retry: the first reply was lost, or another shard of the batch failed

        Assert.Equal(1, (await store.FindAsync("u", default))!.Value.State.LastEventAt);
        Assert.Single(await store.RecentDecisionsAsync("clickstream:0", "u", default));
        Assert.Equal(1, (await store.ReadCountersAsync(default))["r"]["control|matched"]);
    }

    [Fact]
    public async Task RecentDecisionsAsync_ManyBatchesOverSeveralDays_NewestFirstCappedAt50()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = NewStore(prefix, time);
        var epoch = await store.AcquireAsync("clickstream:0", default);
        var n = 0;
        async Task Batch(int decisions)
        {
            var lines = Enumerable.Range(0, decisions).Select(_ => $$"""{"n":{{n++}}}""").ToList();
            var write = store.Prepare("clickstream:0", epoch, [new UserState { UserId = "u", LastEventAt = n }, new UserState { UserId = "v", LastEventAt = n }], [],
                new Dictionary<string, List<string>> { ["u"] = lines, ["v"] = [$$"""{"v":{{n}}}"""] });
            Assert.True(await store.WriteAsync(write, default));
        }

        await Batch(3);
        time.Advance(TimeSpan.FromDays(1)); // each day has a hash of its own
        await Batch(30);
        time.Advance(TimeSpan.FromDays(40));
        await Batch(20);
        await Batch(2);

        var recent = await store.RecentDecisionsAsync("clickstream:0", "u", default);
        Assert.Equal(Enumerable.Range(n - 50, 50).Reverse().Select(i => $$"""{"n":{{i}}}"""), recent);
        Assert.Equal(4, (await store.RecentDecisionsAsync("clickstream:0", "v", default)).Length);
        var fields = 0L;
        foreach (var server in redis.Primaries)
        {
            await foreach (var key in server.KeysAsync(pattern: $"{prefix}*decisions*"))
            {
                fields += await redis.Connection.GetDatabase().HashLengthAsync(key);
                Assert.InRange((await redis.Connection.GetDatabase().KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromDays(59), TimeSpan.FromDays(60));
            }
        }
        Assert.Equal(6, fields); // a field per user and day
    }

    [Fact]
    public async Task RecentDecisionsAsync_ListAnOlderVersionWrote_ReadAfterTheNewDecisions()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var store = NewStore(prefix);
        await redis.Connection.GetDatabase().ListLeftPushAsync(store.Keys.LegacyDecisions("clickstream:0", "u"), ["old-1", "old-2"]);
        var epoch = await store.AcquireAsync("clickstream:0", default);

        Assert.True(await store.WriteAsync(store.Prepare("clickstream:0", epoch, [new UserState { UserId = "u", LastEventAt = 1 }], [],
            new Dictionary<string, List<string>> { ["u"] = ["new-1", "new-2"] }), default));

        Assert.Equal(["new-2", "new-1", "old-2", "old-1"], await store.RecentDecisionsAsync("clickstream:0", "u", default));
    }

    [Fact]
    public async Task ReadCountersAsync_SeveralShardsAndAnOlderVersionsHashes_SummedPerRuleAndField()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var store = NewStore(prefix);
        var db = redis.Connection.GetDatabase();
        await db.HashIncrementAsync($"{prefix}{{clickstream:2}}:stats:r", "control|matched", 5); // as an older version kept them
        await db.HashIncrementAsync($"{prefix}{{clickstream:2}}:stats:x:cohorts", "control|matched", 7);
        await db.HashIncrementAsync($"{prefix}{{clickstream:2}}:cohorts", "2026-01-01|signed_up", 11);
        foreach (var shard in new[] { "clickstream:0", "clickstream:1" })
        {
            var epoch = await store.AcquireAsync(shard, default);
            Assert.True(await store.WriteAsync(store.Prepare(shard, epoch, [new UserState { UserId = "u", LastEventAt = 1 }], [], counters: new Dictionary<string, Dictionary<string, long>>
            {
                ["r"] = new() { ["control|matched"] = 2, ["treatment|sent"] = 3 },
                ["a|b"] = new() { ["control|matched"] = 1 },
                [""] = new() { ["2026-01-01|signed_up"] = 4 },
            }), default));
        }

        var counters = await store.ReadCountersAsync(default);

        Assert.Equal(9, counters["r"]["control|matched"]);
        Assert.Equal(6, counters["r"]["treatment|sent"]);
        Assert.Equal(2, counters["a|b"]["control|matched"]); // a rule id may hold '|'
        Assert.Equal(7, counters["x:cohorts"]["control|matched"]); // a rule named like the cohorts key is a rule
        Assert.Equal(19, counters[""]["2026-01-01|signed_up"]);
        Assert.Equal(4, counters.Count);
    }

    [Fact]
    public async Task DueUsersAsync_SeveralShards_EachShardsDueUsersInShardOrder()
    {
        var store = NewStore($"t{Guid.NewGuid():N}:");
        string[] shards = ["clickstream:0", "clickstream:1", "clickstream:2"];
        for (var i = 0; i < 2; i++)
        {
            var epoch = await store.AcquireAsync(shards[i], default);
            var users = Enumerable.Range(0, 3).Select(j => new UserState
            {
                UserId = $"u{i}-{j}", LastEventAt = 1, Timers = [new PendingTimer { Id = "r", DueAt = 1_000 * (j + 1) }],
            }).ToList();
            Assert.True(await store.WriteAsync(store.Prepare(shards[i], epoch, users, []), default));
        }

        var due = await store.DueUsersAsync(shards, nowMs: 2_500, limit: 10, default);

        Assert.Equal(shards, due.Select(d => d.Shard));
        Assert.Equal(["u0-0", "u0-1"], due[0].Users);
        Assert.Equal(["u1-0", "u1-1"], due[1].Users);
        Assert.Empty(due[2].Users);
        Assert.Equal(["u1-0"], await store.DueUsersAsync(shards[1], 2_500, 1, default));
        Assert.Equal(6, await store.PendingTimersAsync(shards, default));
    }

    [Fact]
    public async Task WriteAsync_ThousandUsersWithDecisionsAndCounters_CommandsDoNotGrowWithUsersButTheStateSet()
    {
        await using var server = await LocalRedisServer.StartAsync();
        using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true");
        var store = new UserStateStore(connection, new RedisOptions { Configuration = server.Configuration, KeyPrefix = "c:" }, ResiliencePipeline.Empty);
        var epoch = await store.AcquireAsync("clickstream:0", default);
        async Task<Dictionary<string, long>> WriteAndCount(int batch, bool newUsers)
        {
            var users = Enumerable.Range(0, 1_000).Select(i => new UserState { UserId = $"u{i}", LastEventAt = batch }).ToList();
            var write = store.Prepare("clickstream:0", epoch, users, newUsers ? users.Select(u => u.UserId).ToList() : [],
                users.ToDictionary(u => u.UserId, u => new List<string> { $$"""{"batch":{{batch}}}""", $$"""{"batch":{{batch}},"second":true}""" }),
                new Dictionary<string, Dictionary<string, long>> { ["r"] = new() { ["control|matched"] = 1_000, ["control|sent"] = 900 }, [""] = new() { ["2026-01-01|signed_up"] = 1_000 } });
            var before = await CommandCounts(connection);
            Assert.True(await store.WriteAsync(write, default));
            var after = await CommandCounts(connection);
            return after.Select(c => (c.Key, Calls: c.Value - before.GetValueOrDefault(c.Key))).Where(c => c.Calls > 0 && c.Key != "info").ToDictionary(c => c.Key, c => c.Calls);
        }

        var first = await WriteAndCount(1, newUsers: true); // every user new: index entries, and no decisions stored yet
        var calls = await WriteAndCount(2, newUsers: false); // known users with decisions already stored

        Assert.Equal(1_000 + 1_000 + 1, first["set"]); // the states, the index entries (SET NX), the write's id
        Assert.Equal(1_000 + 2, first["get"]); // the index entries read back, the owner epoch, the last write's id
        Assert.Equal(1, first["hmget"]);
        Assert.Equal(1, first.GetValueOrDefault("eval") + first.GetValueOrDefault("evalsha"));
        Assert.Equal(1_000 + 1, calls["set"]);
        Assert.Equal(1, calls["hmget"]);
        Assert.Equal(1, calls["hset"]);
        Assert.Equal(1, calls["pexpire"]);
        Assert.Equal(3, calls["hincrby"]);
        Assert.False(calls.ContainsKey("lpush") || calls.ContainsKey("ltrim"), string.Join(", ", calls));
        Assert.Equal(2, (await store.RecentDecisionsAsync("clickstream:0", "u999", default)).Count(d => d.Contains("\"batch\":2", StringComparison.Ordinal)));
        Assert.Equal(4, (await store.RecentDecisionsAsync("clickstream:0", "u999", default)).Length);
    }

    /// <summary>INFO commandstats: calls per command since the server started (scripts' inner calls included).</summary>
    private static async Task<Dictionary<string, long>> CommandCounts(IConnectionMultiplexer connection)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var group in await connection.GetServers().Single().InfoAsync("commandstats"))
        {
            foreach (var (name, value) in group)
            {
                // cmdstat_set: calls=12,usec=...
                counts[name.Replace("cmdstat_", "", StringComparison.Ordinal)] = long.Parse(value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return counts;
    }

    [Fact]
    public async Task WriteAsync_EmbeddedStore_DecisionsCountersAndIndexWork()
    {
        using var embedded = EmbeddedRedisServer.Start();
        using var connection = await ConnectionMultiplexer.ConnectAsync(embedded.Configuration);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new UserStateStore(connection, new RedisOptions { Configuration = embedded.Configuration, KeyPrefix = "e:" }, ResiliencePipeline.Empty, time: time);
        var splits = new List<(string User, string Other)>();
        foreach (var shard in new[] { "clickstream:0", "clickstream:1" })
        {
            var epoch = await store.AcquireAsync(shard, default);
            Assert.True(await store.WriteAsync(store.Prepare(shard, epoch, [new UserState { UserId = "u", LastEventAt = 1 }], ["u"],
                new Dictionary<string, List<string>> { ["u"] = ["a", "b"] }, new Dictionary<string, Dictionary<string, long>> { ["r"] = new() { ["control|matched"] = 1 } }), default, (u, o) => splits.Add((u, o))));
            time.Advance(TimeSpan.FromDays(20));
        }
        var epoch0 = await store.AcquireAsync("clickstream:0", default);
        Assert.True(await store.WriteAsync(store.Prepare("clickstream:0", epoch0, [new UserState { UserId = "u", LastEventAt = 2 }], [],
            new Dictionary<string, List<string>> { ["u"] = ["c"] }), default));

        Assert.Equal(["c", "b", "a"], await store.RecentDecisionsAsync("clickstream:0", "u", default));
        Assert.Equal(("u", "clickstream:0"), Assert.Single(splits));
        Assert.Equal(2, (await store.ReadCountersAsync(default))["r"]["control|matched"]);
    }

    [Fact]
    public async Task SyncPopulationAsync_TwoInstances_SeeEachOthersVotes()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var now = DateTimeOffset.UtcNow;
        await NewStore(prefix).SyncPopulationAsync(Votes(("import", 10_000, 2)), now, default);

        var totals = await NewStore(prefix).SyncPopulationAsync(Votes(("import", 10_000, 1), ("import", 4_000, 1)), now, default);

        Assert.Equal(3, totals["import"][PopulationBaseline.Bucket(10_000)]);
        Assert.Equal(1, totals["import"][PopulationBaseline.Bucket(4_000)]);
    }

    [Fact]
    public async Task Item2_PopulationSync_AbsurdDurationVotes_RedisAcceptsThemAndInstancesAgree()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var now = DateTimeOffset.UtcNow;
        var population = new PopulationBaseline();
        foreach (var ms in new[] { 9_000d, 10_000, 10_000, 11_000, 12_000, 1e300, double.PositiveInfinity, double.MaxValue })
        {
            population.Observe("import", ms); // what a duration check could miss still lands in a bucket, never +inf
        }

        var other = new PopulationBaseline();
        await NewStore(prefix).SyncPopulationAsync(population.TakePending(), now, default);
        other.Load(await NewStore(prefix).SyncPopulationAsync(other.TakePending(), now, default));

        Assert.Equal(PopulationBaseline.BucketMs(PopulationBaseline.Bucket(12_000)), other.UsualMs("import")); // three outliers: three ranks
        Assert.Equal(population.UsualMs("import"), other.UsualMs("import"));
    }

    [Fact]
    public async Task Item6_PopulationSync_VotesOlderThanTheTtl_ForgottenAndKeysExpire()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var ttl = TimeSpan.FromDays(30);
        var store = NewStore(prefix, ttl);
        var now = DateTimeOffset.UtcNow;

        var fresh = await store.SyncPopulationAsync(Votes(("import", 10_000, 5)), now, default);
        var halfLater = await store.SyncPopulationAsync(Votes(), now + ttl / 2, default);
        var ttlLater = await store.SyncPopulationAsync(Votes(), now + ttl, default);

        Assert.Equal(5, fresh["import"].Values.Sum());
        Assert.Equal(5, halfLater["import"].Values.Sum()); // the previous period is still read
        Assert.Empty(ttlLater);
        var keys = redis.Connection.GetServers().SelectMany(s => s.Keys(pattern: $"{prefix}population*")).ToList();
        var key = Assert.Single(keys);
        var left = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.InRange(left!.Value, TimeSpan.FromDays(29), ttl);
    }

    [Fact]
    public async Task Item2_RedisRefusesTheCommand_ACommandErrorNotAnOutage()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix };
        var now = DateTimeOffset.UtcNow;
        var period = now.ToUnixTimeMilliseconds() / ((long)options.PopulationTtl.TotalMilliseconds / 2);
        await redis.Connection.GetDatabase().StringSetAsync($"{prefix}population:{period}", "not a hash");
        var store = new UserStateStore(redis.Connection, options, RedisResilience.Create(TimeProvider.System));

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => store.SyncPopulationAsync(Votes(("import", 10_000, 1)), now, default));

        Assert.True(RedisResilience.IsCommandError(ex), ex.ToString());
        Assert.False(RedisResilience.IsUnavailable(ex));
    }

    private UserStateStore NewStore(string prefix, TimeProvider time) =>
        new(redis.Connection, new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix }, ResiliencePipeline.Empty, time: time);

    private UserStateStore NewStore(string prefix, TimeSpan ttl) =>
        new(redis.Connection, new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix, PopulationTtl = ttl }, ResiliencePipeline.Empty);

    private static Dictionary<string, Dictionary<int, long>> Votes(params (string Task, double Ms, long Votes)[] votes)
    {
        var map = new Dictionary<string, Dictionary<int, long>>(StringComparer.Ordinal);
        foreach (var (task, ms, n) in votes)
        {
            var buckets = map.TryGetValue(task, out var b) ? b : map[task] = [];
            buckets[PopulationBaseline.Bucket(ms)] = buckets.GetValueOrDefault(PopulationBaseline.Bucket(ms)) + n;
        }
        return map;
    }
}
