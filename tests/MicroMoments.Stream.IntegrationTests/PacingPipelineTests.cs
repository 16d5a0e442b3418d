using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary><c>policies.rateLimit</c> and <c>policies.globalControl</c> on the real pipeline: broker, workers, Redis.</summary>
[Collection(InfraCollection.Name)]
public sealed class PacingPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-pace-").FullName;

    [Fact]
    public async Task ThreeWorkersOneStream_EachMinutesCommandsAppearAtItsMinuteNoneOverTheLimitNothingDropped()
    {
        const int users = 300, perMinute = 25, minutes = users / perMinute;
        var rules = Path.Combine(_dir, "pace.yaml");
        await File.WriteAllTextAsync(rules, $$"""
            version: pace
            policies:
              rateLimit: [ { channel: push, perMinute: {{perMinute}} } ]
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, expires: 1h, message: { body: pong } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 6);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        var config = new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules };
        await using var first = await WorkerHarness.StartAsync(streams, redis, _clock, config);
        await using var second = await WorkerHarness.StartAsync(streams, redis, _clock, config);
        await using var third = await WorkerHarness.StartAsync(streams, redis, _clock, config);
        await Eventually.TrueAsync(() => first.Health.Partitions > 0 && second.Health.Partitions > 0 && third.Health.Partitions > 0
            && first.Health.Partitions + second.Health.Partitions + third.Health.Partitions == 6, TimeSpan.FromSeconds(60), "the partitions spread over three workers");

        await Task.WhenAll(Enumerable.Range(0, users).Select(i => streams.ProduceAsync($"u-p{i}", Track($"u-p{i}", "Ping", T0))));

        // Every ping decided: the first minute's commands produced at once, the others waiting for the minute the ledger gave them.
        static (string? Outcome, string? Reason, bool FollowUp) Read(JsonElement d) => (d.GetProperty("outcome").GetString(),
            d.GetProperty("reason").ValueKind == JsonValueKind.String ? d.GetProperty("reason").GetString() : null, d.TryGetProperty("followUp", out _));
        var decided = (await decisions.WaitForAsync(users, TimeSpan.FromSeconds(60))).Select(r => Read(JsonDocument.Parse(r.Message.Value!).RootElement)).ToList();
        Assert.Equal(perMinute, decided.Count(d => d == (Outcomes.Emitted, null, false)));
        Assert.Equal(users - perMinute, decided.Count(d => d == (Outcomes.Deferred, Reasons.RateLimit, false)));
        Assert.Equal(perMinute, (await output.WaitForAsync(perMinute)).Count);

        var commands = new List<InterventionCommand>();
        for (var minute = 0; minute < minutes; minute++)
        {
            if (minute > 0)
            {
                _clock.Advance(TimeSpan.FromMinutes(1));
            }
            var produced = (await output.WaitForAsync(perMinute * (minute + 1), TimeSpan.FromSeconds(60))).Skip(commands.Count)
                .Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
            Assert.All(produced, c => Assert.Equal(T0.AddMinutes(minute), c.DeliverAfter)); // produced at its minute, for its minute
            commands.AddRange(produced);
        }

        Assert.Equal(users, commands.Select(c => c.InterventionId).Distinct().Count());
        Assert.All(commands, c => Assert.Equal(T0 + TimeSpan.FromHours(1), c.ExpiresAt));
        var perDeliveryMinute = commands.GroupBy(c => c.DeliverAfter.ToUnixTimeMilliseconds() / 60_000).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(minutes, perDeliveryMinute.Count); // nothing dropped, and each minute filled before the next
        Assert.All(perDeliveryMinute.Values, n => Assert.Equal(perMinute, n));
        var followUps = (await decisions.WaitForAsync(users + users - perMinute)).Skip(users).Select(r => Read(JsonDocument.Parse(r.Message.Value!).RootElement));
        Assert.All(followUps, d => Assert.Equal((Outcomes.Emitted, null, true), d));

        // The counts every instance shared, as the Redis layout documents them: each waiting command was counted once, when it asked.
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var day = T0.ToUnixTimeMilliseconds() / 86_400_000;
        var counts = await connection.GetDatabase().HashGetAllAsync($"{streams.KeyPrefix}{{rate}}:push:{day}");
        Assert.Equal(perDeliveryMinute.OrderBy(kv => kv.Key).Select(kv => ((long)kv.Key, (long)kv.Value)),
            counts.Select(e => ((long)e.Name, (long)e.Value)).OrderBy(e => e.Item1));
    }

    [Fact]
    public async Task GlobalControl_ControlUserHeldOutAndExplainedAndTheReportShowsTheUplift()
    {
        var rules = Path.Combine(_dir, "control.yaml");
        await File.WriteAllTextAsync(rules, """
            version: control
            policies:
              globalControl: 0.5
            rules:
              - id: offer
                trigger: { kind: event, event: Ping }
                action: { moment: conversion, channel: in_app, message: { body: deal } }
                conversion: { event: Order Completed, within: 24h }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });
        var names = Enumerable.Range(0, 40).Select(i => $"u-g{i}").ToList();
        var control = names.Where(u => GlobalControl.Contains(u, 0.5)).ToList();

        foreach (var u in names)
        {
            await streams.ProduceAsync(u, Track(u, "Ping", T0));
            await streams.ProduceAsync(u, Track(u, "Order Completed", T0.AddMinutes(5)));
        }

        await decisions.WaitForAsync(names.Count);
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync(names[^1], default))?.State.Interventions?.Single().Converted == true,
            TimeSpan.FromSeconds(30), "the last user's conversion counted");
        // The output topic is read on its own: its last records may come in after the decisions' (a busy machine showed 19 of 22).
        await output.WaitForAsync(names.Count - control.Count);
        Assert.Equal(names.Count - control.Count, output.Records.Count);
        Assert.DoesNotContain(output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value).UserId), control.Contains);

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var explained = new StringWriter();
        Assert.Equal(0, await ExplainCommand.RunAsync(["--user", control[0]], config, explained, TextWriter.Null, _clock));
        Assert.Contains("held_out (global_control)", explained.ToString(), StringComparison.Ordinal);

        using var stdout = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(["--json"], config, stdout, TextWriter.Null));
        var overall = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("overall");
        Assert.Equal((names.Count - control.Count, control.Count), (overall.GetProperty("sent").GetInt32(), overall.GetProperty("ghosts").GetInt32()));
        Assert.Equal(control.Count, overall.GetProperty("ghostsConverted").GetInt32());
        Assert.True(overall.GetProperty("uplift").GetProperty("pValue").GetDouble() >= 0);
        using var text = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync([], config, text, TextWriter.Null));
        Assert.Contains("Overall uplift", text.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
