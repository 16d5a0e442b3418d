using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Polly;
using Polly.CircuitBreaker;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Issue 11 item 0: after a Redis outage the worker kept reporting "Redis is unavailable: consumption is paused"
/// while Redis answered. The loop retried its stage through the Polly circuit breaker only, and a breaker that
/// keeps refusing calls (half-open with a trial call that does not end, or isolated) never let it through.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class RedisResumeTests(KafkaFixture kafka, RedisFixture redis)
{
    private static RedisConnectionException Down() => new(ConnectionFailureType.SocketFailure, CommandFlags.None, "test: Redis down");

    [Fact]
    public async Task Item0_TrialCallNeverEnds_CircuitHeldHalfOpenUntilTheProbeSeesRedisAnswer()
    {
        var circuit = new CircuitBreakerManualControl();
        var pipeline = RedisResilience.Create(TimeProvider.System, retryAttempts: 1, circuit);
        using var mux = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var probe = new RedisProbe(mux, circuit);

        // Opened by failures, as an outage opens it.
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await pipeline.ExecuteAsync(_ => ValueTask.FromException(Down()));
                return false;
            }
            catch (BrokenCircuitException)
            {
                return true;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the circuit opens");
        // After the break, one trial call is let through: this one never ends (a call lost in a client, a hung node).
        var never = new TaskCompletionSource();
        Task? trial = null;
        await Eventually.TrueAsync(() =>
        {
            var call = pipeline.ExecuteAsync(_ => new ValueTask(never.Task)).AsTask();
            if (call.IsCompleted)
            {
                Assert.IsType<BrokenCircuitException>(call.Exception?.InnerException);
                return false;
            }
            trial = call;
            return true;
        }, TimeSpan.FromSeconds(30), "a trial call is let through");

        // Redis answers, but every call is refused for as long as the trial runs: retrying through the breaker never resumes.
        Assert.Equal("PONG", (await mux.GetDatabase().ExecuteAsync("PING")).ToString());
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<BrokenCircuitException>(async () => await pipeline.ExecuteAsync(async _ => await mux.GetDatabase().PingAsync()));
        }

        Assert.True(await probe.AnswersAsync());
        await pipeline.ExecuteAsync(async _ => await mux.GetDatabase().PingAsync());
        Assert.False(trial!.IsCompleted);
        never.SetResult();
        await trial;
    }

    [Fact]
    public async Task Item0_RedisUnreachable_ProbeSaysSoAndLeavesTheCircuitAlone()
    {
        var circuit = new CircuitBreakerManualControl();
        var pipeline = RedisResilience.Create(TimeProvider.System, retryAttempts: 1, circuit);
        var port = LoopbackPorts.Free(); // nothing listens there
        var config = ConfigurationOptions.Parse($"127.0.0.1:{port},connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000");
        config.AbortOnConnectFail = false;
        using var mux = await ConnectionMultiplexer.ConnectAsync(config);
        await circuit.IsolateAsync();

        Assert.False(await new RedisProbe(mux, circuit).AnswersAsync());
        await Assert.ThrowsAsync<IsolatedCircuitException>(async () => await pipeline.ExecuteAsync(_ => ValueTask.CompletedTask));
    }

    /// <summary>
    /// The whole worker on a Redis that answers while its circuit breaker refuses every call (isolated here, as a
    /// stuck half-open breaker does): an event still gets applied, and the worker is ready again.
    /// </summary>
    [Fact]
    public async Task Item0_CircuitRefusesEveryCallWhileRedisAnswers_WorkerResumesAndAppliesTheEvent()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0));
        await streams.ProduceAsync("u-a", Track("u-a", "Feature Used", T0, new { feature = "before" }));
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-a", default))?.State.FeatureCounts?.ContainsKey("before") == true,
            TimeSpan.FromSeconds(30), "the first event saved");

        await worker.Host.Services.GetRequiredService<CircuitBreakerManualControl>().IsolateAsync();
        await streams.ProduceAsync("u-a", Track("u-a", "Feature Used", T0.AddSeconds(1), new { feature = "after" }));

        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-a", default))?.State.FeatureCounts?.ContainsKey("after") == true,
            TimeSpan.FromSeconds(30), "the event after the circuit broke saved");
        await Eventually.TrueAsync(() => worker.Health.RedisAvailable, TimeSpan.FromSeconds(30), "the worker ready again");
    }
}
