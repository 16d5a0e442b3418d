using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>The worker with <c>MicroMoments:Segments:Path</c>: <c>user.cluster</c> online, over a real broker and store.</summary>
[Collection(InfraCollection.Name)]
public sealed class SegmentsWorkerTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-segments-worker-").FullName;

    private static readonly DateTimeOffset ProbeAt = ProbedPopulation.ProbeAt;

    private (List<string> Events, Dictionary<string, string?> Config, Dictionary<string, string> Offline) Setup(int perGroup)
    {
        var run = ProbedPopulation.Write(_dir, perGroup);
        return (run.Events, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = run.RulesPath, ["MicroMoments:Segments:Path"] = run.SegmentsPath }, run.Offline);
    }

    [Fact]
    public async Task Worker_SameEventsAsSegment_UserClusterOfEveryUserEqualsTheOfflineAssignment()
    {
        var (events, config, offline) = Setup(perGroup: 8);
        using var streams = await TestStreams.CreateAsync(kafka);
        // The worker's clock at the probes: older events update state but never trigger (MaxTriggerAge); the probes do.
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(ProbeAt), config);
        using var output = streams.Read(streams.Output);

        await streams.ProduceManyAsync(events.Select(e => ((string?)JsonDocument.Parse(e).RootElement.GetProperty("userId").GetString(), Encoding.UTF8.GetBytes(e))));

        var online = (await output.WaitForAsync(offline.Count, TimeSpan.FromSeconds(60)))
            .Select(r => InterventionCloudEvents.Decode(r.Message.Value))
            .ToDictionary(c => c.UserId, c => c.Message.Body, StringComparer.Ordinal);
        Assert.Equal(3, offline.Values.Distinct().Count());
        Assert.Equal(offline.OrderBy(x => x.Key, StringComparer.Ordinal), online.OrderBy(x => x.Key, StringComparer.Ordinal));
    }

    [Fact]
    [Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)] // its subject is the segments file on disk, watched by the worker
    public async Task Worker_SegmentsFileBrokenThenReplaced_LastGoodKeptThenNewOneLoaded()
    {
        var (_, config, _) = Setup(perGroup: 4);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(ProbeAt), config);
        var engines = worker.Host.Services.GetRequiredService<RuleEngineProvider>();
        var path = config["MicroMoments:Segments:Path"]!;
        var good = engines.Segments!;

        await File.WriteAllTextAsync(path, "{ broken");
        await Eventually.TrueAsync(() => engines.FailedSegmentReloads > 0, TimeSpan.FromSeconds(30), "the broken file rejected");
        Assert.Same(good, engines.Segments);

        await File.WriteAllBytesAsync(path, Renamed(good));
        await Eventually.TrueAsync(() => engines.Segments!.Names.Contains("renamed 0"), TimeSpan.FromSeconds(30), "the repaired file loaded");
    }

    /// <summary>The same segments with every name changed, as an operator would edit them.</summary>
    private static byte[] Renamed(SegmentModel model) => SegmentsFile.Write(
        new SegmentModel([.. model.Means], [.. model.StdDevs], [.. model.Centroids.Select(c => c.ToArray())], [.. model.Names.Select((_, i) => $"renamed {i}")]),
        [.. model.Names.Select((_, i) => new SegmentProfile($"renamed {i}", 0, new double[SegmentFeatures.Length]))],
        ProbeAt, "edited");

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
