using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Worker.Pipeline;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>simulate --events &lt;file.ndjson&gt; [--rules &lt;file&gt;] [--until &lt;ISO time&gt; | --drain &lt;ISO duration&gt;] [--decisions &lt;file&gt;]</c>:
/// offline and deterministic; prints each intervention's CloudEvent JSON, one per line (contract §5).
/// </summary>
public static class SimulateCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var options = Options(args);
        if (!options.TryGetValue("--events", out var eventsPath))
        {
            stderr.WriteLine("simulate: --events <file.ndjson> is required");
            return 2;
        }
        RuleSet rules;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(eventsPath);
            rules = RuleSetLoader.LoadFile(options.GetValueOrDefault("--rules") ?? RulesOptions.DefaultPath);
        }
        catch (IOException ex)
        {
            stderr.WriteLine($"simulate: {ex.Message}");
            return 2;
        }
        catch (RuleSetException ex)
        {
            foreach (var e in ex.Errors)
            {
                stderr.WriteLine($"simulate: rules line {e.Line}: {e.Message}");
            }
            return 2;
        }

        var simulation = new OfflineSimulation(rules);
        var printed = 0;
        void Flush()
        {
            for (; printed < simulation.Interventions.Count; printed++)
            {
                stdout.WriteLine(Encoding.UTF8.GetString(InterventionCloudEvents.Encode(simulation.Interventions[printed])));
            }
        }
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }
            var result = simulation.Feed(lines[i], i + 1, Path.GetFileName(eventsPath));
            if (!result.IsValid)
            {
                stderr.WriteLine($"line {i + 1}: {result.Reason}: {result.Error}");
            }
            Flush();
        }
        DateTimeOffset end;
        try
        {
            end = options.TryGetValue("--until", out var until)
                ? DateTimeOffset.Parse(until, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : simulation.Clock + XmlConvert.ToTimeSpan(options.GetValueOrDefault("--drain") ?? "P7D");
        }
        catch (FormatException ex)
        {
            stderr.WriteLine($"simulate: --until takes an ISO-8601 time and --drain an ISO-8601 duration (P7D): {ex.Message}");
            return 2;
        }
        simulation.AdvanceTo(end);
        Flush();

        if (options.TryGetValue("--decisions", out var decisionsPath))
        {
            using var writer = new StreamWriter(decisionsPath, append: false, new UTF8Encoding(false));
            foreach (var d in simulation.Decisions)
            {
                writer.WriteLine(JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions));
            }
        }
        return 0;
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            result[args[i]] = args[i + 1];
        }
        return result;
    }
}
