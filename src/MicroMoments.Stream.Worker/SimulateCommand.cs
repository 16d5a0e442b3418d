using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>simulate --events &lt;file.ndjson&gt; [--rules &lt;file&gt;] [--until &lt;ISO time&gt; | --drain &lt;ISO duration&gt;] [--decisions &lt;file&gt;]</c>:
/// offline and deterministic; prints each command's and cancellation's CloudEvent JSON, one per line (docs/cli.md).
/// With <c>--compare &lt;rules-a&gt; &lt;rules-b&gt;</c>: a back-test (<see cref="SimulateCompareCommand"/>).
/// </summary>
public static class SimulateCommand
{
    /// <param name="args">The command's arguments, after <c>simulate</c>.</param>
    /// <param name="stdout">Where the CloudEvents go.</param>
    /// <param name="stderr">Where rejected lines and errors go.</param>
    /// <param name="configuration">Read for <c>MicroMoments:Segments:Path</c>, as the worker reads it.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IConfiguration? configuration = null)
    {
        if (Array.IndexOf(args, SimulateCompareCommand.Flag) is var compare and >= 0)
        {
            return SimulateCompareCommand.Run(args, compare, stdout, stderr);
        }
        var options = SimulationRun.Options(args);
        if (!options.TryGetValue("--events", out var eventsPath))
        {
            stderr.WriteLine("simulate: --events <file.ndjson> is required");
            return 2;
        }
        if (!SimulationRun.TryEnd(options, stderr, out var until, out var drain)
            || SimulationRun.Read(eventsPath, stderr) is not { } events
            || SimulationRun.LoadRules(options.GetValueOrDefault("--rules") ?? RulesOptions.DefaultPath, stderr) is not { } rules
            || !SimulationRun.TryLoadSegments(configuration, stderr, out var segments))
        {
            return 2;
        }
        StreamWriter? decisions = null;
        if (options.TryGetValue("--decisions", out var decisionsPath))
        {
            try
            {
                decisions = new StreamWriter(decisionsPath, append: false, new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                stderr.WriteLine($"simulate: cannot write --decisions {decisionsPath}: {ex.Message}");
                return 2;
            }
        }
        using var decisionsWriter = decisions;

        var (printed, failed) = (0, 0);
        void Flush(OfflineSimulation simulation)
        {
            for (; printed < simulation.Output.Count; printed++)
            {
                stdout.WriteLine(Encoding.UTF8.GetString(simulation.Output[printed].Encode()));
            }
            for (; failed < simulation.TimerFailures.Count; failed++)
            {
                var f = simulation.TimerFailures[failed];
                stderr.WriteLine($"timer of user {f.UserId} due {f.DueAt:O}: {RejectReasons.RuleError}: {f.Error}");
            }
        }
        var simulation = SimulationRun.Run(rules, events, Path.GetFileName(eventsPath), until, drain, stderr, Flush, segments);
        SimulationRun.Notes(simulation, stderr);

        if (decisionsWriter is not null)
        {
            foreach (var d in simulation.Decisions)
            {
                decisionsWriter.WriteLine(JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions));
            }
            // After the decisions: the responses the engine counted, so `report --decisions` has the rates.
            foreach (var f in simulation.Feedback)
            {
                decisionsWriter.WriteLine(JsonSerializer.Serialize(f, InterventionCloudEvents.DataOptions));
            }
        }
        return 0;
    }
}
