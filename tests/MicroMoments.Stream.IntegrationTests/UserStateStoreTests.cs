using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Polly;

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
