using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Faults under load. Each good event is a "Feature Used" of feature "f", so a user's feature count in Redis
/// must equal the number of good events sent to them: anything lost or applied twice shows.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class FaultTests(KafkaFixture kafka, RedisFixture redis, ITestOutputHelper log)
{
    private const int Users = 50;
    private readonly FakeTimeProvider _clock = new(T0);

    private static string Good(int i) => Track($"u-f{i % Users}", "Feature Used", T0.AddMilliseconds(i), new { feature = "f" });

    private static async Task AssertEveryGoodEventAppliedOnceAsync(WorkerHarness worker, int good)
    {
        var expected = Enumerable.Range(0, good).GroupBy(i => i % Users).ToDictionary(g => $"u-f{g.Key}", g => g.Count());
        await Eventually.TrueAsync(async () =>
        {
            foreach (var (user, count) in expected)
            {
                if ((await worker.Store.FindAsync(user, default))?.State.FeatureCounts?.GetValueOrDefault("f") != count)
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(60), $"all {good} good events applied exactly once");
    }

    private static (string Value, string Reason) Poison(int j) => (j % 4) switch
    {
        0 => ($"{{not json {j}", "malformed_json"),
        1 => ($$"""{"type":"track","event":"X","n":{{j}}}""", "missing_user_id"),
        2 => (Track($"u-late{j}", "X", T0.AddDays(3)), "future_timestamp"),
        _ => ($$"""{"type":"alias","userId":"u-a{{j}}"}""", "invalid_event"),
    };

    [Fact]
    public async Task MillionGoodWithTenThousandPoison_EveryPoisonDeadLetteredWithItsReason_EveryGoodAppliedOnce()
    {
        const int good = 1_000_000, poisonEvery = 100, users = 10_000;
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 12);
        using var deadLetters = streams.Read(streams.DeadLetters);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        var poison = new Dictionary<string, string>(StringComparer.Ordinal); // value → the reason it must be dead-lettered with
        IEnumerable<(string?, byte[])> Records()
        {
            for (var i = 0; i < good; i++)
            {
                var user = $"u-m{i % users}";
                yield return (user, Encoding.UTF8.GetBytes(
                    $$$"""{"type":"track","event":"Feature Used","userId":"{{{user}}}","messageId":"m-{{{i}}}","timestamp":"{{{T0.AddTicks(i * 10L):O}}}","properties":{"feature":"f"}}"""));
                if (i % poisonEvery == 0)
                {
                    var (value, reason) = Poison(i / poisonEvery);
                    poison.Add(value, reason);
                    yield return (null, Encoding.UTF8.GetBytes(value)); // no key: the body alone decides
                }
            }
        }

        var started = Stopwatch.StartNew();
        var partitions = await streams.ProduceManyAsync(Records());
        log.WriteLine($"{good + poison.Count} records produced in {started.Elapsed.TotalSeconds:F1} s");
        await Eventually.TrueAsync(() => streams.InputProgress().Lag == 0, TimeSpan.FromSeconds(120), "every record processed and committed");
        log.WriteLine($"all processed and committed {started.Elapsed.TotalSeconds:F1} s after the first record");

        // Every poison record dead-lettered once, byte for byte, with its own reason; nothing else dead-lettered.
        Assert.Equal(poison.Count, streams.Count(streams.DeadLetters));
        var dead = (await deadLetters.WaitForAsync(poison.Count, TimeSpan.FromSeconds(60)))
            .ToDictionary(d => Encoding.UTF8.GetString(d.Message.Value!), d => DeadLetters.Header(d.Message.Headers, DeadLetters.ReasonHeader), StringComparer.Ordinal);
        Assert.Empty(poison.Where(p => dead.GetValueOrDefault(p.Key) != p.Value).Take(5));
        // Every good record applied once: each user's count, read back with one MGET per shard. Committed offsets imply saved state.
        Assert.Equal(users, partitions.Count);
        var wrong = new List<string>();
        foreach (var shard in partitions.GroupBy(p => p.Value, p => p.Key))
        {
            var states = (await worker.Store.LoadAsync(RedisKeys.Shard(streams.Input, shard.Key), shard.ToList(), default)).Found;
            wrong.AddRange(shard.Where(u => states.GetValueOrDefault(u)?.FeatureCounts?.GetValueOrDefault("f") != good / users)
                .Select(u => $"{u}: {states.GetValueOrDefault(u)?.FeatureCounts?.GetValueOrDefault("f")}").Take(5));
        }
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task BrokerDownAndInjectedProduceErrors_NothingLostNothingDuplicated()
    {
        // Faults are injected through the mock cluster's API, so this test has its own mock cluster.
        var mock = KafkaFixture.StartMock();
        await using var _ = mock.AsAsyncDisposable();
        using var streams = await TestStreams.CreateAsync(mock, inputPartitions: 4);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        const int good = 6_000;
        var sends = new List<Task>();
        for (var i = 0; i < good; i++)
        {
            if (i == good / 3)
            {
                mock.Mock!.PushRequestErrors(0, ErrorCode.NotEnoughReplicas, ErrorCode.RequestTimedOut, ErrorCode.LeaderNotAvailable);
            }
            if (i == good / 2)
            {
                mock.Mock!.SetBrokerDown(1);
                await Task.Delay(TimeSpan.FromSeconds(1)); // the outage itself is the fault under test, not a wait for work
                mock.Mock!.SetBrokerUp(1);
            }
            sends.Add(streams.ProduceAsync($"u-f{i % Users}", Good(i)));
            if (i % 200 == 0)
            {
                // Three failures in a row for one user: one intervention each time.
                for (var k = 0; k < 3; k++)
                {
                    sends.Add(streams.ProduceAsync("u-int", Track("u-int", "Task Failed", T0.AddMilliseconds(i + k), new { task = $"t{i}" }), null));
                }
            }
        }
        await Task.WhenAll(sends);

        await AssertEveryGoodEventAppliedOnceAsync(worker, good);
        await output.WaitForAsync(good / 200);
        Assert.Equal(output.Records.Count, output.Records.Select(r => Core.Interventions.InterventionCloudEvents.Decode(r.Message.Value).InterventionId).Distinct().Count());
    }

    [Fact]
    public async Task GracefulStopUnderLoad_RestartedWorkerLosesNothing()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 4);
        var first = await WorkerHarness.StartAsync(streams, redis, _clock);
        const int good = 10_000;
        var sends = new List<Task>();
        for (var i = 0; i < good; i++)
        {
            sends.Add(streams.ProduceAsync($"u-f{i % Users}", Good(i)));
            if (i == good / 2)
            {
                await first.StopAsync(); // SIGTERM path: finish the batch, wait for its write, commit, close
            }
        }
        await Task.WhenAll(sends);

        await using var second = await WorkerHarness.StartAsync(streams, redis, _clock);
        await AssertEveryGoodEventAppliedOnceAsync(second, good);
    }

    [Fact]
    public async Task RebalanceOneToThreeToOneUnderLoad_NothingLostNoTimerLostOrFiredTwice()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 12);
        using var output = streams.Read(streams.Output);
        var first = await WorkerHarness.StartAsync(streams, redis, _clock);
        WorkerHarness? second = null, third = null;
        const int good = 12_000;
        var sends = new List<Task>();
        for (var i = 0; i < good; i++)
        {
            sends.Add(streams.ProduceAsync($"u-f{i % Users}", Good(i)));
            switch (i)
            {
                case good / 4:
                    second = await WorkerHarness.StartAsync(streams, redis, _clock);
                    third = await WorkerHarness.StartAsync(streams, redis, _clock);
                    await Eventually.TrueAsync(() => second.Health.Partitions > 0 && third.Health.Partitions > 0 && first.Health.Partitions < 12,
                        TimeSpan.FromSeconds(60), "the partitions spread over three workers");
                    break;
                case good / 2:
                    await second!.StopAsync();
                    await third!.StopAsync();
                    await Eventually.TrueAsync(() => first.Health.Partitions == 12, TimeSpan.FromSeconds(60), "the first worker owns all partitions again");
                    break;
            }
        }
        // Every user ends on the Welcome screen: one dwell timer each, armed while partitions moved.
        for (var u = 0; u < Users; u++)
        {
            sends.Add(streams.ProduceAsync($"u-f{u}", Screen($"u-f{u}", "Welcome", T0.AddSeconds(30))));
        }
        await Task.WhenAll(sends);
        await AssertEveryGoodEventAppliedOnceAsync(first, good);
        await Eventually.TrueAsync(async () => (await first.Store.FindAsync($"u-f{Users - 1}", default))?.State.Timers is { Count: > 0 },
            TimeSpan.FromSeconds(30), "the dwell timers are armed");

        _clock.Advance(TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(() => output.Records.Count(r => Core.Interventions.InterventionCloudEvents.Decode(r.Message.Value).RuleId == "welcome-dwell") >= Users,
            TimeSpan.FromSeconds(60), "every user's dwell fired");
        var dwell = output.Records.Select(r => Core.Interventions.InterventionCloudEvents.Decode(r.Message.Value)).Where(c => c.RuleId == "welcome-dwell").ToList();
        Assert.Equal(Users, dwell.Select(c => c.UserId).Distinct().Count());
        Assert.Equal(Users, dwell.Count);
        await first.StopAsync();
    }
}
