using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The feedback loop and experiments on the real pipeline: broker, worker, Redis.</summary>
[Collection(InfraCollection.Name)]
public sealed class FeedbackPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-fb-").FullName;

    [Fact]
    public async Task ThreeDismissals_PauseTheRuleAndTheReportCountsThem()
    {
        var rules = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rules, """
            version: fb
            policies: { dismissalPause: { after: 3, for: 7d } }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, message: { body: pong } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });

        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-d", Track("u-d", "Ping", T0.AddSeconds(i * 10)));
            var sent = InterventionCloudEvents.Decode((await output.WaitForAsync(i + 1))[i].Message.Value);
            await streams.ProduceAsync("u-d", Track("u-d", "Intervention Dismissed", T0.AddSeconds(i * 10 + 1), new { interventionId = sent.InterventionId, ruleId = "ping" }));
        }
        await streams.ProduceAsync("u-d", Track("u-d", "Intervention Clicked", T0.AddSeconds(40), new { interventionId = "someone-elses", ruleId = "ping" }));
        await streams.ProduceAsync("u-d", Track("u-d", "Ping", T0.AddSeconds(50)));

        await Eventually.TrueAsync(() => decisions.Records.Any(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("reason").ValueKind == JsonValueKind.String
            && JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("reason").GetString() == "dismissal_pause"),
            TimeSpan.FromSeconds(30), "a dismissal_pause decision");
        Assert.Equal(3, output.Records.Count);

        var config = ReadConfig(streams);
        var explained = await ExplainAsync(config, "u-d");
        Assert.Contains("dismissal_pause until", explained, StringComparison.Ordinal);
        Assert.Contains("dismissed", explained, StringComparison.Ordinal);

        using var stdout = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(["--json"], config, stdout, TextWriter.Null));
        var counts = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("variants")[0].GetProperty("counts");
        Assert.Equal((4, 3, 3), (counts.GetProperty("matched").GetInt32(), counts.GetProperty("emitted").GetInt32(), counts.GetProperty("dismissed").GetInt32()));
        Assert.Equal(1, counts.GetProperty("suppressed").GetProperty("dismissal_pause").GetInt32());
    }

    [Fact]
    public async Task ThreeDismissalsAcrossRules_UserScope_PauseEveryRuleAndExplainListsAllRules()
    {
        var rules = Path.Combine(_dir, "user-scope.yaml");
        await File.WriteAllTextAsync(rules, """
            version: fb-user
            policies: { dismissalPause: { after: 3, for: 7d, scope: user } }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, message: { body: pong } }
              - id: other
                trigger: { kind: event, event: Other }
                action: { moment: reward, channel: toast, message: { body: other } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });

        string[] triggers = ["Ping", "Other", "Ping"];
        for (var i = 0; i < triggers.Length; i++)
        {
            await streams.ProduceAsync("u-du", Track("u-du", triggers[i], T0.AddSeconds(i * 10)));
            var sent = InterventionCloudEvents.Decode((await output.WaitForAsync(i + 1))[i].Message.Value);
            await streams.ProduceAsync("u-du", Track("u-du", "Intervention Dismissed", T0.AddSeconds(i * 10 + 1), new { interventionId = sent.InterventionId, ruleId = sent.RuleId }));
        }
        await streams.ProduceAsync("u-du", Track("u-du", "Other", T0.AddSeconds(50)));

        await Eventually.TrueAsync(() => decisions.Records.Any(r => r.Message.Value is { } v
                && System.Text.Encoding.UTF8.GetString(v) is var json && json.Contains("\"dismissal_pause\"", StringComparison.Ordinal)
                && json.Contains("\"other\"", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the rule never dismissed paused as well");
        Assert.Equal(3, output.Records.Count);

        var explained = await ExplainAsync(ReadConfig(streams), "u-du");
        Assert.Matches(@"\(all rules\)\s+dismissal_pause until 2026-12-01 10:00:21 UTC", explained);
    }

    [Fact]
    public async Task NoResponse_EscalatesOnceThenThreeUnansweredAutoPause()
    {
        var rules = Path.Combine(_dir, "escalate.yaml");
        await File.WriteAllTextAsync(rules, """
            version: esc
            policies: { autoPause: { after: 3, for: 7d } }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: in_app, message: { body: pong } }
              - id: ping-escalation
                trigger: { kind: escalation, rule: ping, after: 48h }
                action: { moment: reward, channel: email, message: { body: pong by email } }
            """);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules });

        await streams.ProduceAsync("u-e", Track("u-e", "Ping", _clock.GetUtcNow()));
        await output.WaitForAsync(1);
        _clock.Advance(TimeSpan.FromHours(48));
        var records = await output.WaitForAsync(2);
        Assert.Equal("ping-escalation", InterventionCloudEvents.Decode(records[1].Message.Value).RuleId);

        // A second ping is sent (only two earlier interventions have gone 48 h unanswered) ...
        _clock.Advance(TimeSpan.FromHours(1));
        await streams.ProduceAsync("u-e", Track("u-e", "Ping", _clock.GetUtcNow()));
        await output.WaitForAsync(3);

        // ... and when its escalation falls due, ping, escalation and ping are three unanswered in a row: auto-pause.
        _clock.Advance(TimeSpan.FromHours(48));
        await Eventually.TrueAsync(() => decisions.Records.Any(r => r.Message.Value is { } v
                && System.Text.Encoding.UTF8.GetString(v) is var json && json.Contains("\"auto_pause\"", StringComparison.Ordinal)
                && json.Contains("\"ping-escalation\"", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the second escalation auto-paused");

        var commands = output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
        Assert.Equal(["ping", "ping-escalation", "ping"], commands.Select(c => c.RuleId));
        Assert.Equal(3, commands.Select(c => c.InterventionId).Distinct().Count());
    }

    [Fact]
    public async Task ExperimentAssignment_TwoWorkerInstances_AgreeOnEveryUser()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        var secondOutput = await kafka.CreateTopicAsync("interventions-b", 1);
        using var outputA = streams.Read(streams.Output);
        using var outputB = streams.Read(secondOutput);
        var users = Enumerable.Range(0, 40).Select(i => $"u-exp-{i}").ToList();
        foreach (var u in users)
        {
            await streams.ProduceAsync(u, Track(u, "Help Center Exited", T0, new { article = "billing" }));
        }

        await using var a = await WorkerHarness.StartAsync(streams, redis, _clock);
        await using var b = await WorkerHarness.StartAsync(streams, redis, _clock, new Dictionary<string, string?>
        {
            ["MicroMoments:Kafka:GroupId"] = streams.GroupId + "-b",
            ["MicroMoments:Kafka:OutputTopic"] = secondOutput,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix + "b:",
        });
        var expected = users.Count(u => ExperimentAssignmentFor(u) != "holdout");
        await outputA.WaitForAsync(expected);
        await outputB.WaitForAsync(expected);

        static Dictionary<string, (string, string)> ByUser(TopicReader r) => r.Records.Select(x => InterventionCloudEvents.Decode(x.Message.Value))
            .ToDictionary(c => c.UserId, c => (c.Variant, c.InterventionId));
        Assert.Equal(ByUser(outputA).OrderBy(x => x.Key), ByUser(outputB).OrderBy(x => x.Key));
        Assert.Contains(ByUser(outputA).Values, v => v.Item1 == "short");
        Assert.Contains(ByUser(outputA).Values, v => v.Item1 == "control");
    }

    /// <summary>What <c>explain</c> and <c>report</c> need to read this test's keys in Redis.</summary>
    private IConfiguration ReadConfig(TestStreams streams) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MicroMoments:Redis:Configuration"] = redis.Configuration,
        ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
    }).Build();

    private async Task<string> ExplainAsync(IConfiguration config, string user)
    {
        using var explained = new StringWriter();
        Assert.Equal(0, await ExplainCommand.RunAsync(["--user", user], config, explained, TextWriter.Null, _clock));
        return explained.ToString();
    }

    private static string ExperimentAssignmentFor(string user) =>
        Core.Decisions.ExperimentAssignment.Assign(user, Core.Rules.RuleSetLoader.LoadFile(Worker.Pipeline.RulesOptions.DefaultPath).Find("help-center-demo")!.Experiment!).Variant;

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
