using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary><c>deliver: best_time</c> on the real pipeline: the active hours survive Redis, and the decision and explain say why.</summary>
[Collection(InfraCollection.Name)]
public sealed class BestTimePipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-bt-").FullName;

    [Fact]
    public async Task EveningHabit_CommandDeliveredAt20LocalAndExplainSaysWhy()
    {
        var rules = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rules, """
            version: bt
            rules:
              - id: nudge
                trigger: { kind: event, event: Ping }
                action: { moment: re_engagement, channel: push, deliver: best_time, message: { body: hi } }
                policy: { sendWindow: { from: "09:00", to: "21:00" } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });

        // 20:15 in Berlin on five evenings (each its own record, so the state goes through Redis in between), then a ping at 11:00.
        for (var day = 7; day >= 3; day--)
        {
            await streams.ProduceAsync("u-bt", Track("u-bt", "Visit", T0.AddDays(-day).AddHours(9.25)));
        }
        await streams.ProduceAsync("u-bt", Track("u-bt", "Ping", T0));

        var command = InterventionCloudEvents.Decode((await output.WaitForAsync(1))[0].Message.Value);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 19, 0, 0, TimeSpan.Zero), command.DeliverAfter);
        await Eventually.TrueAsync(() => decisions.Records.Count > 0, TimeSpan.FromSeconds(30), "the decision");
        var decision = JsonDocument.Parse(decisions.Records[0].Message.Value).RootElement;
        Assert.Equal(("deferred", "best_time"), (decision.GetProperty("outcome").GetString(), decision.GetProperty("reason").GetString()));
        Assert.Equal((20, "history"), (decision.GetProperty("delivery").GetProperty("hour").GetInt32(), decision.GetProperty("delivery").GetProperty("basis").GetString()));

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var explained = new StringWriter();
        Assert.Equal(0, await ExplainCommand.RunAsync(["--user", "u-bt"], config, explained, TextWriter.Null, _clock));
        Assert.Contains("best_time 20:00 local (history, 6 active hour-days)", explained.ToString(), StringComparison.Ordinal);
        Assert.Contains("20h: 5, 11h: 1", explained.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
