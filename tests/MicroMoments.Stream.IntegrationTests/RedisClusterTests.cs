using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The key layout on a 3-master Redis Cluster: each batch's writes stay in one slot per partition.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RedisClusterTests(KafkaFixture kafka, RedisClusterFixture cluster)
{
    [Fact]
    public async Task OnRedisCluster_InterventionsTimersExplainAndReportWork()
    {
        var clock = new FakeTimeProvider(T0);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 6);
        using var output = streams.Read(streams.Output);
        var seed = cluster.Configuration.Split(',')[0]; // one node named, the rest discovered, as deployments usually configure it
        await using var worker = await WorkerHarness.StartAsync(streams, seed, clock);
        var users = Enumerable.Range(0, 30).Select(i => $"u-c{i}").ToList();
        foreach (var u in users)
        {
            for (var i = 0; i < 3; i++)
            {
                await streams.ProduceAsync(u, Track(u, "Task Failed", T0.AddSeconds(i), new { task = "import" }));
            }
            await streams.ProduceAsync(u, Screen(u, "Welcome", T0.AddSeconds(5)));
        }
        await output.WaitForAsync(users.Count);
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync(users[^1], default))?.State.Timers is { Count: > 0 },
            TimeSpan.FromSeconds(30), "dwell timers armed");
        clock.Advance(TimeSpan.FromMinutes(2));
        var records = await output.WaitForAsync(2 * users.Count);

        var commands = records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
        Assert.Equal(users.Count, commands.Count(c => c.RuleId == "setup-task-failing"));
        Assert.Equal(users.Count, commands.Count(c => c.RuleId == "welcome-dwell"));
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = seed,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var explained = new StringWriter();
        Assert.Equal(0, await ExplainCommand.RunAsync(["--user", users[0]], config, explained, TextWriter.Null, clock));
        Assert.Contains("welcome-dwell", explained.ToString(), StringComparison.Ordinal);
        using var report = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(["--json"], config, report, TextWriter.Null));
        var triggers = JsonDocument.Parse(report.ToString()).RootElement.GetProperty("triggers");
        Assert.Contains(triggers.EnumerateArray(), t => t.GetProperty("ruleId").GetString() == "setup-task-failing" && t.GetProperty("matched").GetInt32() == users.Count);
    }
}
