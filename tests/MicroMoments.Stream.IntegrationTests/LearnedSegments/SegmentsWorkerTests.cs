using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.Pipeline;
using MicroMoments.Stream.Worker.Segments;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>The worker with <c>MicroMoments:Segments:Path</c>: <c>user.cluster</c> online, over a real broker and store.</summary>
// Its subject includes the segments file on disk, watched by the worker.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class SegmentsWorkerTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-segments-worker-").FullName;

    private static readonly DateTimeOffset ProbeAt = PlantedPopulation.Start.AddDays(PlantedPopulation.Days + 1);

    private string WriteFile(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>The planted population, a probe event per user at <see cref="ProbeAt"/>, the probe rule, and segment's file and assignments.</summary>
    private (List<string> Events, Dictionary<string, string?> Config, Dictionary<string, string> Offline) Setup(int perGroup)
    {
        var population = PlantedPopulation.Lines(perGroup);
        var users = population.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("userId").GetString()!).Distinct().Order(StringComparer.Ordinal).ToList();
        List<string> events = [.. population, .. users.Select(u => PlantedPopulation.Track(u, "Segment Probe", ProbeAt))];
        var eventsPath = WriteFile("events.ndjson", events);
        var rules = WriteFile("probe.rules.yaml",
        [
            "version: probe",
            "rules:",
            "  - id: cluster-probe",
            "    trigger: { kind: event, event: Segment Probe }",
            "    action: { moment: education, channel: in_app, message: { body: \"{{user.cluster}}\" } }",
        ]);
        var (segments, assignments) = (Path.Combine(_dir, "segments.json"), Path.Combine(_dir, "assignments.tsv"));
        Assert.Equal(0, SegmentCommand.Run(["--events", eventsPath, "--k", "3", "--out", segments, "--assignments", assignments], TextWriter.Null, TextWriter.Null));
        var offline = File.ReadAllLines(assignments).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return (events, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rules, ["MicroMoments:Segments:Path"] = segments }, offline);
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
