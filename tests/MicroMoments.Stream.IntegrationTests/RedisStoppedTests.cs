using System.Diagnostics;
using System.Net;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Redis really stopped (SHUTDOWN, not CLIENT PAUSE) while a producer keeps publishing, then started again on
/// the same port and directory. The Redis is the test's own and persistent (append-only file, fsync always);
/// the broker is its own too, so the outages run beside the other collections instead of holding them up.
/// </summary>
public sealed class RedisStoppedTests(ITestOutputHelper log)
{
    private const int Users = 50;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    /// <summary>The whole Redis for 30 s: a server, or every master of a cluster in cluster mode.</summary>
    [Fact]
    public async Task RedisStoppedThirtySecondsUnderLoad_NotReadyAndPausedThenResumes_EveryEventAppliedOnceNoDuplicateIntervention()
    {
        var kafka = KafkaFixture.StartMock();
        await using var _ = kafka.AsAsyncDisposable();
        await using var redis = await RedisFixture.StartPrivateAsync(persistent: true);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 8); // the outage's backlog well under the mock broker's 5 MiB per partition
        using var output = streams.Read(streams.Output);
        await using var worker = await StartReadyWorkerAsync(streams, redis.Configuration);
        await using var load = await SteadyLoad.StartAsync(streams);

        await redis.ShutdownAsync();
        var down = Stopwatch.StartNew();
        await ReadinessAsync(worker, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "/healthz/ready answers 503 while Redis is down");
        log.WriteLine($"not ready {down.Elapsed.TotalSeconds:F1} s after SHUTDOWN");
        // Offsets stored before the outage are auto-committed within a second of the last write that went
        // through (detecting the outage can take ~12 s on a busy cluster): sample progress well after that.
        var notReady = down.Elapsed;
        await StayNotReadyUntilAsync(worker, down, notReady + TimeSpan.FromSeconds(3) > Outage / 3 ? notReady + TimeSpan.FromSeconds(3) : Outage / 3);
        var early = streams.InputProgress();
        await StayNotReadyUntilAsync(worker, down, Outage);
        var late = streams.InputProgress();
        log.WriteLine($"while down: committed {early.Committed} → {late.Committed}, lag {early.Lag} → {late.Lag}");
        Assert.Equal(early.Committed, late.Committed); // nothing applied
        Assert.True(late.Lag > early.Lag + 1_000, $"lag grew while the producer went on: {early.Lag} → {late.Lag}");

        await redis.StartAsync();
        var outage = down.Elapsed;
        var restarted = Stopwatch.StartNew();
        await ReadinessAsync(worker, HttpStatusCode.OK, TimeSpan.FromSeconds(60), "/healthz/ready answers 200 after Redis is back");
        log.WriteLine($"down {outage.TotalSeconds:F1} s; ready again {restarted.Elapsed.TotalSeconds:F1} s after the restart");
        await DrainAndAssertEachEventAppliedOnceAsync(worker, streams, output, load, restarted);
    }

    /// <summary>
    /// One master of three for 10 s while the other two answer: a batch's shards on the live masters are written,
    /// the rest fail, and the retries must not apply the written shards' analytics and decisions a second time.
    /// </summary>
    [Fact]
    [Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)] // starts its own cluster in either pass
    public async Task OneClusterMasterStoppedUnderLoad_OtherShardsWriteOnResumesAndCountsEachTriggerOnce()
    {
        var kafka = KafkaFixture.StartMock();
        await using var _ = kafka.AsAsyncDisposable();
        await using var cluster = await LocalRedisCluster.StartAsync(persistent: true);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 12);
        using var output = streams.Read(streams.Output);
        await using var worker = await StartReadyWorkerAsync(streams, cluster.Configuration);
        var stopped = cluster.Nodes[0];
        var onStopped = (await cluster.OwnersAsync(Enumerable.Range(0, 12).Select(p => worker.Store.Keys.Owner(RedisKeys.Shard(streams.Input, p))))).Count(n => n == stopped);
        Assert.InRange(onStopped, 1, 11); // batches straddle the stopped master and the live ones
        await using var load = await SteadyLoad.StartAsync(streams);

        await stopped.ShutdownAsync();
        var down = Stopwatch.StartNew();
        await ReadinessAsync(worker, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "/healthz/ready answers 503 while a master is down");
        log.WriteLine($"{onStopped} of 12 shards on the stopped master; not ready {down.Elapsed.TotalSeconds:F1} s after its SHUTDOWN");
        await StayNotReadyUntilAsync(worker, down, Outage / 3);

        await stopped.StartAsync();
        var restarted = Stopwatch.StartNew();
        await ReadinessAsync(worker, HttpStatusCode.OK, TimeSpan.FromSeconds(60), "/healthz/ready answers 200 after the master is back");
        log.WriteLine($"ready again {restarted.Elapsed.TotalSeconds:F1} s after the restart");
        await DrainAndAssertEachEventAppliedOnceAsync(worker, streams, output, load, restarted);
    }

    /// <summary>The worker on the test's Redis, with short client timeouts so an outage shows within seconds, once it is ready.</summary>
    private static async Task<WorkerHarness> StartReadyWorkerAsync(TestStreams streams, string redisConfiguration)
    {
        var worker = await WorkerHarness.StartAsync(streams, redisConfiguration + ",connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000", new FakeTimeProvider(T0));
        await ReadinessAsync(worker, HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the worker is ready");
        return worker;
    }

    private static Task ReadinessAsync(WorkerHarness worker, HttpStatusCode status, TimeSpan timeout, string what) =>
        Eventually.TrueAsync(async () =>
        {
            try
            {
                return await worker.GetStatusAsync("/healthz/ready") == status;
            }
            catch (TaskCanceledException)
            {
                return false; // a probe slower than the client's timeout on a busy machine: ask again until the deadline
            }
        }, timeout, what);

    /// <summary>
    /// Lets the load run on a little after the restart, stops it, waits until every record is committed, then checks
    /// that each good event, intervention, analytics count and decision-history entry exists exactly once.
    /// </summary>
    private async Task DrainAndAssertEachEventAppliedOnceAsync(WorkerHarness worker, TestStreams streams, TopicReader output, SteadyLoad load, Stopwatch restarted)
    {
        var atRestart = load.Good;
        await Eventually.TrueAsync(() => load.Good >= atRestart + 2_000, TimeSpan.FromSeconds(30), "more load after the restart");
        await load.StopAsync();
        await Eventually.TrueAsync(() => streams.InputProgress().Lag == 0, TimeSpan.FromSeconds(120), "every record committed");
        log.WriteLine($"{load.Good} good events and {load.Triggers} triggers sent; caught up {restarted.Elapsed.TotalSeconds:F1} s after the restart");

        // Committed offsets imply saved state, so the counts are final now.
        foreach (var (user, count) in Enumerable.Range(0, load.Good).GroupBy(i => i % Users).Select(g => ($"u-s{g.Key}", g.Count())))
        {
            Assert.Equal(count, (await worker.Store.FindAsync(user, default))?.State.FeatureCounts?.GetValueOrDefault("f"));
        }
        var commands = (await output.WaitForAsync((int)streams.Count(streams.Output))).Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
        Assert.Equal(commands.Count, commands.Select(c => c.InterventionId).Distinct().Count());
        Assert.Equal(load.Triggers, commands.Count(c => c.RuleId == "setup-task-failing" && c.UserId.StartsWith("u-i", StringComparison.Ordinal)));
        // Analytics and each user's decision history count every trigger once too: a retried write must not re-apply them.
        var trigger = Assert.Single(ResponseReport.Build(await worker.Store.ReadCountersAsync(default)).Triggers, t => t.RuleId == "setup-task-failing");
        Assert.Equal((load.Triggers, load.Triggers), (trigger.Matched, trigger.Emitted));
        for (var t = 0; t < load.Triggers; t++)
        {
            var (shard, _) = (await worker.Store.FindAsync($"u-i{t}", default))!.Value;
            Assert.Single(await worker.Store.RecentDecisionsAsync(shard, $"u-i{t}", default));
        }
    }

    /// <summary>Holds until <paramref name="until"/> into the outage, the wall time the scenario needs, checking the worker stays not ready.</summary>
    private static async Task StayNotReadyUntilAsync(WorkerHarness worker, Stopwatch down, TimeSpan until)
    {
        while (down.Elapsed < until)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await worker.GetStatusAsync("/healthz/ready"));
            // Read once: on a busy machine the probe itself can outlast what was left, and a negative delay throws.
            var left = until - down.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            await Task.Delay(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>
    /// About 1,000 good events a second ("Feature Used" of feature "f", users u-s0…), and every tenth tick a fresh
    /// user u-i… whose task fails three times: one intervention each. Counts only what the broker acknowledged.
    /// </summary>
    private sealed class SteadyLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _good;
        private int _triggers;

        private SteadyLoad(TestStreams streams) => _loop = Task.Run(() => RunAsync(streams));

        /// <summary>Starts the load and returns once the worker has committed its first 2,000 records.</summary>
        public static async Task<SteadyLoad> StartAsync(TestStreams streams)
        {
            var load = new SteadyLoad(streams);
            try
            {
                await Eventually.TrueAsync(() => streams.InputProgress().Committed >= 2_000, TimeSpan.FromSeconds(60), "the worker keeps up with the load");
                return load;
            }
            catch
            {
                await load.DisposeAsync();
                throw;
            }
        }

        public int Good => Volatile.Read(ref _good);

        public int Triggers => Volatile.Read(ref _triggers);

        private async Task RunAsync(TestStreams streams)
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            for (var n = 0; !_stop.IsCancellationRequested; n++)
            {
                var sends = new List<Task>();
                var first = _good;
                for (var i = first; i < first + 50; i++)
                {
                    sends.Add(streams.ProduceAsync($"u-s{i % Users}", Track($"u-s{i % Users}", "Feature Used", T0.AddMilliseconds(i), new { feature = "f" })));
                }
                if (n % 10 == 0)
                {
                    var user = $"u-i{_triggers}";
                    for (var k = 0; k < 3; k++)
                    {
                        sends.Add(streams.ProduceAsync(user, Track(user, "Task Failed", T0.AddMilliseconds(first + k), new { task = "import" })));
                    }
                }
                await Task.WhenAll(sends);
                Volatile.Write(ref _good, first + 50);
                Volatile.Write(ref _triggers, _triggers + (n % 10 == 0 ? 1 : 0));
                await tick.WaitForNextTickAsync();
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }
}
