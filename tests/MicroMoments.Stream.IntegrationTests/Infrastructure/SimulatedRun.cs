using System.Text;
using System.Text.Json;
using System.Xml;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Worker;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// What <c>simulate</c> decides over exactly the events a live run was given: the interventions it prints, and
/// the per-user state of the same offline simulation. The oracle a live worker's output and Redis state must equal.
/// </summary>
public sealed class SimulatedRun
{
    private SimulatedRun(IReadOnlyList<InterventionCommand> interventions, IReadOnlyDictionary<string, UserState> users)
    {
        Interventions = interventions;
        Users = users;
    }

    public IReadOnlyList<InterventionCommand> Interventions { get; }

    public IReadOnlyDictionary<string, UserState> Users { get; }

    /// <param name="lines">The events in the order produced (per user, the order the worker applies them).</param>
    /// <param name="drain">How far the virtual clock runs on after the last event (ISO-8601), for timers.</param>
    public static SimulatedRun Of(IReadOnlyList<string> lines, string rulesPath, string drain, string directory)
    {
        var events = Path.Combine(directory, "events.ndjson");
        File.WriteAllLines(events, lines);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = SimulateCommand.Run(["--events", events, "--rules", rulesPath, "--drain", drain], stdout, stderr);
        if (exit != 0 || stderr.GetStringBuilder().Length > 0)
        {
            throw new InvalidOperationException($"simulate exited {exit}: {stderr}");
        }
        var interventions = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => InterventionCloudEvents.Decode(Encoding.UTF8.GetBytes(l)))
            .ToList();

        var simulation = new OfflineSimulation(RuleSetLoader.LoadFile(rulesPath));
        for (var i = 0; i < lines.Count; i++)
        {
            simulation.Feed(lines[i], i + 1);
        }
        simulation.AdvanceTo(simulation.Clock + XmlConvert.ToTimeSpan(drain));
        return new SimulatedRun(interventions, simulation.Users);
    }

    /// <summary>
    /// The part of a user's state that depends only on the events and the rules: feature counts, count windows,
    /// pending timers, the interventions kept for feedback and the last event time. Watermarks (the worker's are
    /// Kafka offsets) and send times (the worker's wall clock) differ by design.
    /// </summary>
    public static string Comparable(UserState s) => JsonSerializer.Serialize(new
    {
        s.UserId,
        s.LastEventAt,
        FeatureCounts = Listed(s.FeatureCounts?.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}")),
        Windows = Listed(s.Windows?.Where(w => w.Value.Count > 0).OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => $"{w.Key}: {string.Join(",", w.Value.Select(h => h.EventId))}")),
        Timers = Listed(s.Timers?.OrderBy(t => t.Id, StringComparer.Ordinal).Select(t => $"{t.Id}@{t.DueAt}")),
        Interventions = Listed(s.Interventions?.Select(i => i.Id)),
    });

    /// <summary>Null for none: an empty collection and a missing one mean the same.</summary>
    private static string[]? Listed(IEnumerable<string>? items) => items?.ToArray() is { Length: > 0 } a ? a : null;
}
