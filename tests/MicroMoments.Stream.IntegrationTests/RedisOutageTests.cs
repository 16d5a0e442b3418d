using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

[Collection(InfraCollection.Name)]
public sealed class RedisOutageTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    /// <summary>
    /// Reads through the worker's connection, which may be (re)connecting or busy catching up: a failed or timed-out
    /// read is "not yet" (a client timeout is a <see cref="TimeoutException"/>, not a <see cref="RedisException"/>).
    /// </summary>
    private static async Task<(string Shard, Core.State.UserState State)?> FindAsync(WorkerHarness worker, string user)
    {
        try
        {
            return await worker.Store.FindAsync(user, default);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Long enough that the worker's client, with its 2 s timeouts and one quick retry, gives up well within it on a busy machine.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RedisUnresponsive_WorkerPausesReportsNotReadyAndResumesWithNothingLost()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?>
        {
            // Client timeouts short enough that the pause outlasts what Polly absorbs, but not so short (they were
            // 300 ms) that an ordinary call on a busy machine times out before or after the pause.
            ["MicroMoments:Redis:Configuration"] = redis.Configuration + ",asyncTimeout=2000,syncTimeout=2000,connectTimeout=2000",
            ["MicroMoments:Redis:RetryAttempts"] = "1",
        });
        await streams.ProduceAsync("u-o", Track("u-o", "Task Failed", T0, new { task = "a" }));
        await Eventually.TrueAsync(async () => (await FindAsync(worker, "u-o")) is not null, TimeSpan.FromSeconds(30), "first event saved");

        // Redis (every master of a cluster) stops answering every client, data intact: longer than the Polly retries absorb.
        foreach (var server in redis.Primaries)
        {
            await server.ExecuteAsync("CLIENT", "PAUSE", ((long)Pause.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), "ALL");
        }
        await streams.ProduceAsync("u-o", Track("u-o", "Task Failed", T0.AddSeconds(1), new { task = "a" }));
        await streams.ProduceAsync("u-o", Track("u-o", "Task Failed", T0.AddSeconds(2), new { task = "a" }));
        await streams.ProduceAsync("u-new", Track("u-new", "Feature Used", T0.AddSeconds(3), new { feature = "reports" }));
        await Eventually.TrueAsync(() => !worker.Health.RedisAvailable, Pause - TimeSpan.FromSeconds(5), "the worker reports Redis unavailable");
        var ready = await worker.Health.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, ready.Status);

        await Eventually.TrueAsync(() => worker.Health.RedisAvailable, Pause + TimeSpan.FromSeconds(30), "the worker resumes after Redis answers");
        await Eventually.TrueAsync(async () =>
            (await FindAsync(worker, "u-new"))?.State.FeatureCounts?.ContainsKey("reports") == true
            && (await FindAsync(worker, "u-o"))?.State.Sent is { Count: 1 },
            TimeSpan.FromSeconds(30), "every event of the outage is in Redis");

        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal(("u-o", "setup-task-failing"), (command.UserId, command.RuleId));
        Assert.Single(output.Records);
    }
}
