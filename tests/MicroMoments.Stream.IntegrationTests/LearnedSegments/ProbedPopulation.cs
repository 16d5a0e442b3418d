using System.Text.Json;
using MicroMoments.Stream.Worker.Segments;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>
/// The online-equals-offline setup: the planted population with a probe event per user at one last moment, a rule that
/// answers the probe with <c>{{user.cluster}}</c>, and what <c>segment</c> learned and assigned from the same file (whose
/// last event, the probes, is its reference time).
/// </summary>
internal sealed record ProbedPopulation(List<string> Events, string EventsPath, string RulesPath, string SegmentsPath, Dictionary<string, string> Offline)
{
    public static readonly DateTimeOffset ProbeAt = PlantedPopulation.Start.AddDays(PlantedPopulation.Days + 1);

    public static ProbedPopulation Write(string dir, int perGroup)
    {
        var population = PlantedPopulation.Lines(perGroup);
        var users = population.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("userId").GetString()!).Distinct().Order(StringComparer.Ordinal);
        List<string> events = [.. population, .. users.Select(u => PlantedPopulation.Track(u, "Segment Probe", ProbeAt))];
        var eventsPath = Path.Combine(dir, "probed.ndjson");
        File.WriteAllLines(eventsPath, events);
        var rulesPath = Path.Combine(dir, "probe.rules.yaml");
        File.WriteAllLines(rulesPath,
        [
            "version: probe",
            "rules:",
            "  - id: cluster-probe",
            "    trigger: { kind: event, event: Segment Probe }",
            "    action: { moment: education, channel: in_app, message: { body: \"{{user.cluster}}\" } }",
        ]);
        var (segments, assignments) = (Path.Combine(dir, "segments.json"), Path.Combine(dir, "assignments.tsv"));
        using var stderr = new StringWriter();
        var exit = SegmentCommand.Run(["--events", eventsPath, "--k", "3", "--out", segments, "--assignments", assignments], TextWriter.Null, stderr);
        Assert.True(exit == 0, stderr.ToString());
        return new ProbedPopulation(events, eventsPath, rulesPath, segments, ReadAssignments(assignments));
    }

    /// <summary>The lines <c>segment --assignments</c> wrote: user id → segment name.</summary>
    public static Dictionary<string, string> ReadAssignments(string path) =>
        File.ReadAllLines(path).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
}
