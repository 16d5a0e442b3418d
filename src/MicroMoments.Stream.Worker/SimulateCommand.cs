using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Worker.Pipeline;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>simulate --events &lt;file.ndjson&gt; [--rules &lt;file&gt;] [--until &lt;ISO time&gt; | --drain &lt;ISO duration&gt;] [--decisions &lt;file&gt;]</c>:
/// offline and deterministic; prints each command's and cancellation's CloudEvent JSON, one per line (docs/cli.md).
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
        DateTimeOffset? until = null;
        TimeSpan drain;
        try
        {
            // Checked before the run, not found wrong after it.
            until = options.TryGetValue("--until", out var u)
                ? DateTimeOffset.Parse(u, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : null;
            drain = XmlConvert.ToTimeSpan(options.GetValueOrDefault("--drain") ?? "P7D");
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            stderr.WriteLine($"simulate: --until takes an ISO-8601 time and --drain an ISO-8601 duration (P7D): {ex.Message}");
            return 2;
        }
        RuleSet rules;
        byte[] events;
        try
        {
            // Bytes, not text: a line that is not valid UTF-8 is refused as the worker refuses such a record, not decoded to U+FFFD.
            events = File.ReadAllBytes(eventsPath);
            rules = RuleSetLoader.LoadFile(options.GetValueOrDefault("--rules") ?? RulesOptions.DefaultPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
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

        var simulation = new OfflineSimulation(rules);
        var (printed, failed) = (0, 0);
        void Flush()
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
        var source = Path.GetFileName(eventsPath);
        foreach (var line in NdjsonLines.Read(events))
        {
            var result = simulation.Feed(line.Bytes, line.Number, source);
            if (!result.IsValid)
            {
                stderr.WriteLine($"line {line.Number}: {result.Reason}: {result.Error}");
            }
            Flush();
        }
        if (until is { } end)
        {
            simulation.AdvanceTo(end);
        }
        else
        {
            simulation.AdvanceBy(drain);
        }
        Flush();
        if (simulation.AliasesNotMerged > 0)
        {
            stderr.WriteLine($"simulate: {simulation.AliasesNotMerged} alias calls merged nothing: their previousId was seen under a userId, or was merged already (an alias links an anonymousId)");
        }
        if (simulation.UnknownTimezones > 0)
        {
            stderr.WriteLine($"simulate: {simulation.UnknownTimezones} events named a time zone the tz database {TimeZones.DatabaseVersion} does not know; taken as none (UTC)");
        }

        if (decisionsWriter is not null)
        {
            foreach (var d in simulation.Decisions)
            {
                decisionsWriter.WriteLine(JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions));
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
