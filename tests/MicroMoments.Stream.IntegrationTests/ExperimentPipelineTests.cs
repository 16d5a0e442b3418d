using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using Polly;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Experiments on timing and channel, and the bandit's shared arm counts, on the real pipeline: broker, worker, Redis.</summary>
[Collection(InfraCollection.Name)]
public sealed class ExperimentPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private const string TimingRules = """
        version: timing
        rules:
          - id: cart-nudge
            trigger: { kind: event, event: Product Added }
            action: { moment: conversion, channel: push, message: { body: "Your cart is waiting" } }
            experiment:
              name: cart-timing
              variants:
                - { name: now, weight: 1 }
                - { name: later, weight: 1, delay: 1h, channel: email }
        """;

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-exp-").FullName;

    [Fact]
    public async Task TimingExperiment_LiveWorker_SameArmsAndTimesAsSimulate_ArmOnTheFeedback()
    {
        var rules = Path.Combine(_dir, "timing.yaml");
        await File.WriteAllTextAsync(rules, TimingRules);
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });
        var events = Enumerable.Range(0, 12).Select(u => (User: $"u-exp-{u}", Json: Track($"u-exp-{u}", "Product Added", T0.AddSeconds(u)))).ToList();

        foreach (var (user, json) in events)
        {
            await streams.ProduceAsync(user, json);
        }
        var live = (await output.WaitForAsync(12)).Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToDictionary(c => c.UserId);

        var simulation = new OfflineSimulation(RuleSetLoader.Load(TimingRules));
        foreach (var (_, json) in events)
        {
            simulation.Feed(json, 0);
        }
        // Simulate's clock follows the events and the worker's is its own: the delay after the decision is what they share.
        Assert.Equal(simulation.Interventions.Select(c => (c.UserId, c.InterventionId, c.Variant, c.Channel, c.DeliverAfter - c.DecidedAt)).OrderBy(x => x.UserId),
            live.Values.Select(c => (c.UserId, c.InterventionId, c.Variant, c.Channel, c.DeliverAfter - c.DecidedAt)).OrderBy(x => x.UserId));
        Assert.Equal(["later", "now"], live.Values.Select(c => c.Variant).Distinct().Order());
        Assert.All(live.Values.Where(c => c.Variant == "later"), c => Assert.Equal(c.DecidedAt.AddHours(1), c.DeliverAfter));

        var later = live.Values.First(c => c.Variant == "later");
        _clock.Advance(TimeSpan.FromMinutes(70)); // delivered at 11:00, clicked at 11:10
        await streams.ProduceAsync(later.UserId, Track(later.UserId, "Intervention Clicked", T0.AddMinutes(70), new { interventionId = later.InterventionId, ruleId = "cart-nudge" }));
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        JsonElement? arm = null;
        await Eventually.TrueAsync(async () =>
        {
            using var stdout = new StringWriter();
            Assert.Equal(0, await ReportCommand.RunAsync(["--json"], config, stdout, TextWriter.Null));
            arm = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("variants").EnumerateArray()
                .FirstOrDefault(v => v.GetProperty("counts").GetProperty("variant").GetString() == "later");
            return arm is { ValueKind: JsonValueKind.Object } a && a.GetProperty("counts").GetProperty("clicked").GetInt32() == 1;
        }, TimeSpan.FromSeconds(30), "the click counted for the later arm");
    }

    [Fact]
    public async Task BanditArms_TwoInstances_EachSeesTheOthersCounts()
    {
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"t{Guid.NewGuid():N}:" };
        var store = new UserStateStore(redis.Connection, options, ResiliencePipeline.Empty);
        var (a, b) = (new ArmStatistics(), new ArmStatistics());
        a.Observe(new Dictionary<string, Dictionary<string, long>> { ["offer"] = new() { ["urgent|emitted"] = 5, ["urgent|converted"] = 2, ["plain|deferred"] = 1 } });
        b.Observe(new Dictionary<string, Dictionary<string, long>> { ["offer"] = new() { ["urgent|emitted"] = 3, ["plain|converted"] = 1, ["plain|clicked"] = 4 } });

        a.Load(await store.SyncArmsAsync(a.TakePending(), CancellationToken.None));
        b.Load(await store.SyncArmsAsync(b.TakePending(), CancellationToken.None));
        a.Load(await store.SyncArmsAsync(a.TakePending(), CancellationToken.None));

        foreach (var stats in new[] { a, b })
        {
            Assert.Equal(new ArmCounts(8, 2), stats.Of("offer", "urgent"));
            Assert.Equal(new ArmCounts(1, 1), stats.Of("offer", "plain"));
        }
    }

    [Fact]
    public async Task HourlyOutcomes_TwoInstances_AddUpInTheSharedHashesTheConsoleReads()
    {
        var options = new RedisOptions { Configuration = redis.Configuration, KeyPrefix = $"t{Guid.NewGuid():N}:" };
        var store = new UserStateStore(redis.Connection, options, ResiliencePipeline.Empty);
        var (a, b) = (new Core.Analytics.HourlyOutcomes(), new Core.Analytics.HourlyOutcomes());
        a.Observe(new Dictionary<string, Dictionary<string, long>> { ["offer"] = new() { ["control|matched"] = 2, ["control|emitted"] = 1 } }, T0);
        b.Observe(new Dictionary<string, Dictionary<string, long>> { ["offer"] = new() { ["control|matched"] = 3, ["control|cancelled"] = 1 } }, T0);

        await store.AddHourlyAsync(a.TakePending(), CancellationToken.None);
        await store.AddHourlyAsync(b.TakePending(), CancellationToken.None);

        var chart = Core.Analytics.HourlyOutcomes.Chart(await store.ReadHourlyAsync(T0.AddMinutes(30), CancellationToken.None), T0.AddMinutes(30))["offer"];
        Assert.Equal((5L, 1L, 0L, 1L), (chart[0][^1], chart[1][^1], chart[2][^1], chart[3][^1]));
        Assert.InRange((await redis.Connection.GetDatabase().KeyTimeToLiveAsync($"{options.KeyPrefix}hourly:{Core.Analytics.HourlyOutcomes.HourOf(T0)}"))!.Value.TotalHours, 49, 50);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
