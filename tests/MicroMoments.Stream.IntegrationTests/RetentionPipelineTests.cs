using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Retention live and offline: the real worker on the broker and Redis counts the example's users, and <c>report</c> from
/// Redis prints the same retention tables as <c>report --events</c> over the same events and the decisions the worker made.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class RetentionPipelineTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-ret-").FullName;

    private static string Example(string name) => Path.Combine(DeploymentConfigTests.Root, "docs", "examples", name);

    private static DateTimeOffset Day(string day) => DateTimeOffset.Parse(day, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static async Task<JsonNode> RetentionAsync(IConfiguration configuration, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync([.. args, "--json"], configuration, stdout, stderr));
        return JsonNode.Parse(stdout.ToString())!["retention"]!;
    }

    [Fact]
    public async Task Report_LiveWorkerOverTheExample_SameRetentionTablesAsReportEvents()
    {
        var lines = File.ReadAllLines(Example("retention.ndjson")).Where(l => l.Length > 0).ToList();
        var days = lines.GroupBy(l => JsonNode.Parse(l)!["timestamp"]!.GetValue<string>()[..10], StringComparer.Ordinal).ToList();
        using var streams = await TestStreams.CreateAsync(kafka);
        var clock = new FakeTimeProvider(Day(days[0].Key));
        await using var worker = await WorkerHarness.StartAsync(streams, redis, clock, new Dictionary<string, string?>
        {
            ["MicroMoments:Rules:Path"] = Example("retention.rules.yaml"),
            ["MicroMoments:Pipeline:MaxTriggerAge"] = "2.00:00:00",
        });
        using var decisions = streams.Read(streams.Decisions);

        // A day at a time, the clock at the end of the day: the worker decides on that day's events at the day's end, so
        // its treated and control users have retention days to observe, and no event is ahead of its clock.
        long produced = 0;
        foreach (var day in days)
        {
            clock.SetUtcNow(Day(day.Key).AddDays(1));
            await streams.ProduceManyAsync(day.Select(l => ((string?)JsonNode.Parse(l)!["userId"]!.GetValue<string>(), Encoding.UTF8.GetBytes(l))));
            produced += day.Count();
            await Eventually.TrueAsync(() => streams.InputProgress() is { Committed: var c, Lag: 0 } && c == produced, TimeSpan.FromSeconds(60),
                $"the events of {day.Key} are applied");
        }
        var live = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        var decisionsFile = Path.Combine(_dir, "decisions.ndjson");
        JsonNode? offline = null;
        JsonNode? fromRedis = null;
        await Eventually.TrueAsync(async () =>
        {
            File.WriteAllLines(decisionsFile, decisions.Records.Select(r => Encoding.UTF8.GetString(r.Message.Value!)));
            offline = await RetentionAsync(new ConfigurationBuilder().Build(), "--events", Example("retention.ndjson"), "--decisions", decisionsFile);
            fromRedis = await RetentionAsync(live);
            return JsonNode.DeepEquals(offline, fromRedis);
        }, TimeSpan.FromSeconds(30), "the live report's retention equals report --events over the worker's decisions");

        // Not trivially equal: sign-up cohorts with observed days, and treated and control arms with retained users.
        Assert.Equal("2026-12-23", fromRedis!["observedThrough"]!.GetValue<string>());
        Assert.Equal(5, fromRedis["cohorts"]!.AsArray().Count);
        var program = fromRedis["arms"]!.AsArray().Single(a => a!["ruleId"]!.GetValue<string>() == "*")!;
        Assert.True(program["treated"]!["cells"]![0]!["retained"]!.GetValue<long>() > 0);
        Assert.True(program["globalControl"]!["cells"]![0]!["users"]!.GetValue<long>() > 0);
        Assert.NotNull(program["holdout"]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
