using System.Text.Json;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Segments;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>The <c>segment</c> command over files, and the same segments file online in <c>simulate</c>.</summary>
public sealed class SegmentCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-segment-").FullName;

    private string WriteFile(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static (int Exit, string Out, string Err) Segment(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = SegmentCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Segment_ThreePlantedBehaviourGroups_RecoveredWithAdjustedRandIndexAtLeast08()
    {
        var events = WriteFile("planted.ndjson", PlantedPopulation.Lines());
        var assignments = Path.Combine(_dir, "assignments.tsv");

        var (exit, stdout, stderr) = Segment("--events", events, "--k", "3", "--assignments", assignments);

        Assert.True(exit == 0, stderr);
        var found = ProbedPopulation.ReadAssignments(assignments).OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(120, found.Count);
        var ari = PlantedPopulation.AdjustedRandIndex([.. found.Select(a => a.Key[..1])], [.. found.Select(a => a.Value)]);
        output.WriteLine($"adjusted Rand index {ari:0.###}\n{stdout}");
        Assert.True(ari >= 0.8, $"adjusted Rand index {ari:0.###}\n{stdout}");
        // The suggested names follow the profiles: each planted group's most common segment is named for it.
        foreach (var (group, name) in new[] { ("e", "active engager"), ("l", "lapsed"), ("s", "struggling") })
        {
            Assert.Equal(name, found.Where(a => a.Key.StartsWith(group, StringComparison.Ordinal)).GroupBy(a => a.Value).MaxBy(g => g.Count())!.Key);
        }
    }

    [Fact]
    public void Segment_SameFileTwice_ByteIdenticalSegmentsFile()
    {
        var events = WriteFile("planted.ndjson", PlantedPopulation.Lines(perGroup: 15));
        var (a, b) = (Path.Combine(_dir, "a.json"), Path.Combine(_dir, "b.json"));

        Assert.Equal(0, Segment("--events", events, "--k", "3", "--out", a).Exit);
        Assert.Equal(0, Segment("--events", events, "--k", "3", "--out", b).Exit);

        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Fact]
    public void Segment_DocsExample_ExitsZeroAndPrintsTheRunShownInAnalyticsDoc()
    {
        var events = Path.Combine(DeploymentConfigTests.Root, "docs", "examples", "events.ndjson");

        var (exit, stdout, stderr) = Segment("--events", events, "--k", "3");

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(3, lines.Count(l => l.StartsWith("segment ", StringComparison.Ordinal)));
        var doc = File.ReadAllText(Path.Combine(DeploymentConfigTests.Root, "docs", "analytics.md"));
        Assert.All(lines, l => Assert.Contains(l, doc, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--k", "3")]
    [InlineData("--events", "x.ndjson")]
    [InlineData("--events", "x.ndjson", "--k", "0")]
    public void Segment_MissingOrBadArguments_Exit2(params string[] args)
    {
        Assert.Equal(2, Segment(args).Exit);
    }

    [Fact]
    public void Segment_FewerUsersThanK_Exit2WithTheReason()
    {
        var events = WriteFile("two.ndjson", [PlantedPopulation.Track("a", "Feature Used", PlantedPopulation.Start), PlantedPopulation.Track("b", "Feature Used", PlantedPopulation.Start)]);

        var (exit, _, stderr) = Segment("--events", events, "--k", "3");

        Assert.Equal(2, exit);
        Assert.Contains("fewer than --k 3", stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// Online equals offline: every user gets a probe event at the same last moment, and a rule answering it with
    /// <c>{{user.cluster}}</c>; simulate (the worker's path, with <c>MicroMoments:Segments:Path</c>) must name the segment
    /// the command assigned from the same events at the same reference time (the file's last event, the probes).
    /// </summary>
    [Fact]
    public void Simulate_WithTheSegmentsFile_UserClusterEqualsTheCommandsAssignments()
    {
        var run = ProbedPopulation.Write(_dir, perGroup: 25);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["MicroMoments:Segments:Path"] = run.SegmentsPath }).Build();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = SimulateCommand.Run(["--events", run.EventsPath, "--rules", run.RulesPath], stdout, stderr, configuration);

        Assert.True(exit == 0, stderr.ToString());
        var online = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("data"))
            .ToDictionary(d => d.GetProperty("userId").GetString()!, d => d.GetProperty("message").GetProperty("body").GetString()!, StringComparer.Ordinal);
        var offline = run.Offline;
        Assert.Equal(75, offline.Count);
        Assert.Equal(3, offline.Values.Distinct().Count());
        Assert.Equal(offline.OrderBy(x => x.Key, StringComparer.Ordinal), online.OrderBy(x => x.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Simulate_BadSegmentsFile_Exit2NamingTheKey()
    {
        var segments = WriteFile("bad.json", ["{"]);
        var events = WriteFile("e.ndjson", [PlantedPopulation.Track("a", "Feature Used", PlantedPopulation.Start)]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["MicroMoments:Segments:Path"] = segments }).Build();
        using var stderr = new StringWriter();

        Assert.Equal(2, SimulateCommand.Run(["--events", events], TextWriter.Null, stderr, configuration));
        Assert.Contains("MicroMoments:Segments:Path", stderr.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
