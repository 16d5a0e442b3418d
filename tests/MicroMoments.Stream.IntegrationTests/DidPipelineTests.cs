using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary><c>where</c> on a page's name and <c>did</c> / <c>not: { did }</c> on the real pipeline (broker, worker, Redis) agree with <c>simulate</c>.</summary>
[Collection(InfraCollection.Name)]
public sealed class DidPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private const string Rules = """
        version: did
        rules:
          - id: pricing-questions
            trigger: { kind: count, event: page, times: 3, within: 10m, where: { name: Pricing } }
            when:
              - not: { did: { event: Trial Started } }
            action: { moment: conversion, channel: in_app, message: { body: "Questions about plans?" } }
          - id: pro-trial-help
            trigger: { kind: event, event: Task Failed }
            when:
              - did: { event: Trial Started, where: { plan: pro }, within: 30d }
            action: { moment: clarification, channel: in_app, message: { body: "Need a hand with Pro?" } }
        """;

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-did-").FullName;

    [Fact]
    public async Task DidAndNotDid_LiveWorker_SameCommandsAsSimulate()
    {
        var rules = Path.Combine(_dir, "did.yaml");
        await File.WriteAllTextAsync(rules, Rules);
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });
        var start = T0.AddMinutes(-9); // every trigger within the worker's MaxTriggerAge (10 min) of its clock
        string[] Visits(string user, params string[] pages) => [.. pages.Select((p, i) => Page(user, p, start.AddMinutes(4 * i)))];
        var events = new List<(string User, string Json)>();
        void Add(string user, params string[] lines) => events.AddRange(lines.Select(l => (user, l)));

        Add("u-did-1", [Track("u-did-1", "Trial Started", start.AddDays(-1)), .. Visits("u-did-1", "Pricing", "Pricing", "Pricing")]); // trial: no nudge
        Add("u-did-2", Visits("u-did-2", "Pricing", "Pricing", "Pricing"));                                                             // nudge
        Add("u-did-3", Visits("u-did-3", "Pricing", "Docs", "Pricing"));                                                                // near miss: not 3 × Pricing
        Add("u-did-4", Track("u-did-4", "Trial Started", start.AddDays(-29), new { plan = "pro" }), Track("u-did-4", "Task Failed", start)); // help
        Add("u-did-5", Track("u-did-5", "Trial Started", start.AddDays(-31), new { plan = "pro" }), Track("u-did-5", "Task Failed", start)); // too long ago
        Add("u-did-6", Track("u-did-6", "Trial Started", start.AddDays(-1), new { plan = "basic" }), Track("u-did-6", "Task Failed", start)); // another plan
        foreach (var (user, json) in events)
        {
            await streams.ProduceAsync(user, json);
        }
        using var offsets = new GroupOffsets(streams);
        await Eventually.TrueAsync(() => offsets.CaughtUp(3), TimeSpan.FromSeconds(60), "every event applied and its commands sent");
        var live = (await output.WaitForAsync(2)).Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();

        var simulation = new OfflineSimulation(RuleSetLoader.Load(Rules));
        for (var i = 0; i < events.Count; i++)
        {
            simulation.Feed(events[i].Json, i + 1);
        }

        Assert.Equal([("u-did-2", "pricing-questions"), ("u-did-4", "pro-trial-help")],
            simulation.Interventions.Select(c => (c.UserId, c.RuleId)).Order());
        Assert.Equal(simulation.Interventions.Select(c => c.InterventionId).Order(), live.Select(c => c.InterventionId).Order());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
