using System.Globalization;
using System.Text;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Worker.Segments;

/// <summary>
/// <c>segment --events &lt;file.ndjson&gt; --k &lt;n&gt; [--out &lt;segments.json&gt;] [--at &lt;ISO time&gt;] [--assignments &lt;file&gt;]</c>:
/// learns k segments from the users' behavioural features (docs/analytics.md, "Learned segments") and prints each one's size and
/// profile. The file is replayed through the worker's own state fold (an <see cref="OfflineSimulation"/> with no rules), so the
/// features are those the worker computes online for the same events; the reference time is the file's last event unless
/// <c>--at</c> names one.
/// </summary>
public static class SegmentCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var options = SimulationRun.Options(args);
        if (!options.TryGetValue("--events", out var eventsPath)
            || !int.TryParse(options.GetValueOrDefault("--k"), NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            || k is < 1 or > SegmentsFile.MaxSegments)
        {
            stderr.WriteLine($"segment: --events <file.ndjson> and --k <1 to {SegmentsFile.MaxSegments}> are required");
            return 2;
        }
        DateTimeOffset? at = null;
        if (options.TryGetValue("--at", out var atText))
        {
            if (!DateTimeOffset.TryParse(atText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                stderr.WriteLine($"segment: --at takes an ISO-8601 time, not '{atText}'");
                return 2;
            }
            at = parsed;
        }
        if (SimulationRun.Read(eventsPath, stderr) is not { } events)
        {
            return 2;
        }

        var (population, referenceTime) = Replay(events, at, stderr);
        if (population.Count < k)
        {
            stderr.WriteLine($"segment: {population.Count} users with activity in {eventsPath}, fewer than --k {k}");
            return 2;
        }
        var centroids = KMeansClustering.Centroids([.. Enumerable.Range(0, population.Count).Select(population.Standardised)], k);
        var model = new SegmentModel(population.Means, population.StdDevs, centroids, SegmentNames.Suggest(centroids, population.Means, population.StdDevs));
        var (assignments, profiles) = population.Profile(model);

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{population.Count} users, {k} segments; features at {referenceTime.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} (days since last activity and tenure count to it)"));
        for (var c = 0; c < profiles.Length; c++)
        {
            var p = profiles[c];
            var profile = string.Join(", ", SegmentFeatures.Names.Select((name, i) => string.Create(CultureInfo.InvariantCulture, $"{name} {p.Means[i]:0.##}")));
            stdout.WriteLine($"segment {c} \"{p.Name}\": {p.Size} users; {profile}");
        }

        if (options.TryGetValue("--out", out var outPath)
            && !TryWrite(outPath, SegmentsFile.Write(model, profiles, referenceTime, Path.GetFileName(eventsPath)), stderr))
        {
            return 2;
        }
        if (options.TryGetValue("--assignments", out var assignmentsPath))
        {
            var lines = new StringBuilder();
            for (var u = 0; u < population.Count; u++)
            {
                lines.Append(population.UserIds[u]).Append('\t').Append(model.Names[assignments[u]]).Append('\n');
            }
            if (!TryWrite(assignmentsPath, Encoding.UTF8.GetBytes(lines.ToString()), stderr))
            {
                return 2;
            }
        }
        return 0;
    }

    /// <summary>The users' states after the file, through the worker's fold; the reference time is <paramref name="at"/> or the last event's.</summary>
    private static (SegmentPopulation Population, DateTimeOffset ReferenceTime) Replay(byte[] events, DateTimeOffset? at, TextWriter stderr)
    {
        var simulation = new OfflineSimulation(RuleSetLoader.Load("version: segment\nrules: []\n"));
        var last = DateTimeOffset.UnixEpoch;
        foreach (var line in NdjsonLines.Read(events))
        {
            var result = simulation.Feed(line.Bytes, line.Number);
            if (!result.IsValid)
            {
                stderr.WriteLine($"line {line.Number}: {result.Reason}: {result.Error}");
            }
            else if (result.Event!.Timestamp > last)
            {
                last = result.Event.Timestamp;
            }
        }
        var referenceTime = at ?? last;
        return (SegmentPopulation.Of(simulation.Users.Values, referenceTime), referenceTime);
    }

    private static bool TryWrite(string path, byte[] bytes, TextWriter stderr)
    {
        try
        {
            File.WriteAllBytes(path, bytes);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stderr.WriteLine($"segment: cannot write {path}: {ex.Message}");
            return false;
        }
    }
}
