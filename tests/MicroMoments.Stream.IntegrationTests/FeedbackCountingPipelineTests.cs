using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Feedback counted once per (intervention, type), and forged feedback ignored, on the real pipeline: broker, worker, Redis,
/// and the live <c>report</c> read from the Redis counters.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class FeedbackCountingPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-fbc-").FullName;

    [Fact]
    public async Task Report_EightClicksOfOneInterventionAndAForgedOne_ClickThroughIsOneHundredPercentAndOneFollowUp()
    {
        var rules = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rules, """
            version: fbc
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, message: { body: pong } }
              - id: thanks
                trigger: { kind: event, event: Intervention Clicked, where: { ruleId: ping } }
                action: { moment: reward, channel: toast, message: { body: thanks } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });

        await streams.ProduceAsync("u-c", Track("u-c", "Ping", T0));
        var sent = InterventionCloudEvents.Decode((await output.WaitForAsync(1))[0].Message.Value);
        var about = new { interventionId = sent.InterventionId, ruleId = "ping" };
        await streams.ProduceAsync("u-c", Track("u-c", "Intervention Delivered", T0.AddSeconds(1), about));
        for (var i = 0; i < 8; i++)
        {
            await streams.ProduceAsync("u-c", Track("u-c", "Intervention Clicked", T0.AddSeconds(2 + i), about));
        }
        await streams.ProduceAsync("u-c", Track("u-c", "Intervention Clicked", T0.AddSeconds(20),
            new { interventionId = "00000000-0000-0000-0000-000000000000", ruleId = "ping" }));
        // The user's events apply in order, so once this ping's command is out every click before it has been applied.
        await streams.ProduceAsync("u-c", Track("u-c", "Ping", T0.AddSeconds(30)));
        await Eventually.TrueAsync(() => output.Records.Count(r => InterventionCloudEvents.Decode(r.Message.Value).RuleId == "ping") == 2,
            TimeSpan.FromSeconds(30), "the second ping");

        Assert.Equal(["ping", "thanks", "ping"], output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value).RuleId));
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var stdout = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(["--json"], config, stdout, TextWriter.Null));
        var ping = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("variants").EnumerateArray()
            .Single(v => v.GetProperty("counts").GetProperty("ruleId").GetString() == "ping");
        var counts = ping.GetProperty("counts");
        Assert.Equal((1, 1), (counts.GetProperty("delivered").GetInt32(), counts.GetProperty("clicked").GetInt32()));
        Assert.Equal(1.0, ping.GetProperty("clickThrough").GetDouble());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
