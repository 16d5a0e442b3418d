using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The Redis rate ledger answers exactly as the in-memory one <c>simulate</c> uses, on a server and on the embedded store.</summary>
[Collection(InfraCollection.Name)]
public sealed class RedisRateLedgerTests(RedisFixture redis)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 23, 50, 0, TimeSpan.Zero);

    /// <summary>Batches of requests on two channels, near a day's end so ranges cross into the next day's hash, some past their range.</summary>
    private static List<List<MinuteRequest>> Batches()
    {
        var random = new Random(14);
        var start = Now.ToUnixTimeMilliseconds() / 60_000;
        return Enumerable.Range(0, 40).Select(_ => Enumerable.Range(0, random.Next(1, 60)).Select(_ =>
        {
            var channel = random.Next(3) == 0 ? "email" : "push";
            var from = start + random.Next(0, 15);
            return new MinuteRequest(channel, channel == "push" ? 7 : 3, from, from + random.Next(0, 20));
        }).ToList()).ToList();
    }

    private static async Task AssertSameAsInMemoryAsync(IConnectionMultiplexer connection, string prefix)
    {
        var ledger = new RedisRateLedger(connection, new RedisOptions { KeyPrefix = prefix }, ResiliencePipeline.Empty);
        var memory = new InMemoryRateLedger();
        var (full, moved) = (0, 0);
        foreach (var batch in Batches())
        {
            var expected = memory.Reserve(batch);
            Assert.Equal(expected, await ledger.ReserveAsync(batch, Now, default));
            full += expected.Count(m => m < 0);
            moved += expected.Where((m, i) => m > batch[i].FromMinute).Count();
        }
        Assert.True(full > 0 && moved > 0, "the batches fill minutes and whole ranges");
        var ttl = await connection.GetDatabase().KeyTimeToLiveAsync(new RedisKeys(prefix).RateLimit("push", Now.ToUnixTimeMilliseconds() / 86_400_000));
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(24), TimeSpan.FromHours(24.2)); // the day ends in 10 minutes, and is kept a day after
    }

    [Fact]
    public async Task ReserveAsync_RandomBatches_SameAnswersAsInMemory()
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await AssertSameAsInMemoryAsync(connection, $"t{Guid.NewGuid():N}:");
    }

    [Fact]
    public async Task ReserveAsync_EmbeddedStore_SameAnswersAsInMemory()
    {
        using var embedded = EmbeddedRedisServer.Start();
        using var connection = await ConnectionMultiplexer.ConnectAsync(embedded.Configuration);
        await AssertSameAsInMemoryAsync(connection, "e:");
    }
}
