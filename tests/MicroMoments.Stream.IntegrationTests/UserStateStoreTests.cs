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
    public async Task SyncPopulationAsync_TwoInstances_SeeEachOthersObservations()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        await NewStore(prefix).SyncPopulationAsync(new Dictionary<string, (double, long)> { ["import"] = (20_000, 2) }, default);

        var totals = await NewStore(prefix).SyncPopulationAsync(new Dictionary<string, (double, long)> { ["import"] = (4_000, 1) }, default);

        Assert.Equal((24_000d, 3L), totals["import"]);
    }
}
