using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

// Its subject is the rules file on disk.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class RulesReloadTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-rules-").FullName;

    private static string Rules(string version, string body) => $$"""
        version: "{{version}}"
        rules:
          - id: third-ping
            trigger: { kind: count, event: Ping, times: 3, within: 1h }
            action: { moment: reward, channel: toast, message: { body: "{{body}}" } }
        """;

    [Fact]
    public async Task RulesFileChanged_NewVersionStampedStateKept_BrokenFileRejected()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(path, Rules("v1", "first"));
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock,
            new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = path });
        var engines = worker.Host.Services.GetRequiredService<RuleEngineProvider>();
        await streams.ProduceAsync("u-p", Track("u-p", "Ping", T0));
        await streams.ProduceAsync("u-p", Track("u-p", "Ping", T0.AddSeconds(1)));
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-p", default))?.State.Windows is { Count: 1 },
            TimeSpan.FromSeconds(30), "two pings counted under v1");

        await File.WriteAllTextAsync(path, Rules("v2", "second"));
        await Eventually.TrueAsync(() => engines.Current.Rules.Version == "v2", TimeSpan.FromSeconds(30), "v2 loaded");
        await streams.ProduceAsync("u-p", Track("u-p", "Ping", T0.AddSeconds(2)));

        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal(("v2", "second"), (command.RuleVersion, command.Message.Body)); // the window from v1 carried over

        await File.WriteAllTextAsync(path, "rules:\n  - id: [broken\n");
        await Eventually.TrueAsync(() => engines.FailedReloads > 0, TimeSpan.FromSeconds(30), "the broken file is rejected");
        Assert.Equal("v2", engines.Current.Rules.Version);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
