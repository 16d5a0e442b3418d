using System.Globalization;
using System.Xml;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;

namespace MicroMoments.Stream.Worker;

/// <summary>The parts <c>simulate</c> and <c>simulate --compare</c> share: arguments, the rules, the events, one run.</summary>
internal static class SimulationRun
{
    /// <summary>Options as pairs (<c>--events f</c>); the flags named are taken alone.</summary>
    public static Dictionary<string, string> Options(IReadOnlyList<string> args, params string[] flags)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (flags.Contains(args[i]))
            {
                result[args[i]] = "";
            }
            else if (i + 1 < args.Count)
            {
                result[args[i]] = args[++i];
            }
        }
        return result;
    }

    /// <summary>Where the clock stops: <c>--until</c>, else <c>--drain</c> (default P7D) past the last event. Checked before the run, not found wrong after it.</summary>
    public static bool TryEnd(Dictionary<string, string> options, TextWriter stderr, out DateTimeOffset? until, out TimeSpan drain)
    {
        try
        {
            until = options.TryGetValue("--until", out var u)
                ? DateTimeOffset.Parse(u, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : null;
            drain = XmlConvert.ToTimeSpan(options.GetValueOrDefault("--drain") ?? "P7D");
            return true;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            stderr.WriteLine($"simulate: --until takes an ISO-8601 time and --drain an ISO-8601 duration (P7D): {ex.Message}");
            (until, drain) = (null, default);
            return false;
        }
    }

    /// <summary>Reads a file's bytes, or says why not on stderr.</summary>
    public static byte[]? Read(string path, TextWriter stderr)
    {
        try
        {
            // Bytes, not text: a line that is not valid UTF-8 is refused as the worker refuses such a record, not decoded to U+FFFD.
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"simulate: {ex.Message}");
            return null;
        }
    }

    /// <summary>Loads a rules file, or writes its errors with line numbers on stderr (<paramref name="label"/> names the file when there are two).</summary>
    public static RuleSet? LoadRules(string path, TextWriter stderr, string label = "rules")
    {
        try
        {
            return RuleSetLoader.LoadFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"simulate: {ex.Message}");
        }
        catch (RuleSetException ex)
        {
            foreach (var e in ex.Errors)
            {
                stderr.WriteLine($"simulate: {label} line {e.Line}: {e.Message}");
            }
        }
        return null;
    }

    /// <summary>
    /// The segments file of <c>MicroMoments:Segments:Path</c>, as the worker loads it: none when the key is empty, false with
    /// the errors on stderr when the file is refused.
    /// </summary>
    public static bool TryLoadSegments(IConfiguration? configuration, TextWriter stderr, out SegmentModel? segments)
    {
        segments = null;
        if (configuration?[SegmentsOptions.PathKey] is not { Length: > 0 } path || string.IsNullOrWhiteSpace(path))
        {
            return true;
        }
        var errors = new List<string>();
        segments = SegmentsOptions.TryLoad(path, errors);
        foreach (var e in errors)
        {
            stderr.WriteLine($"simulate: {SegmentsOptions.PathKey}: {path}: {e}");
        }
        return segments is not null;
    }

    /// <summary>
    /// Feeds every line, then moves the clock to its end. A malformed line goes to <paramref name="rejected"/> with its
    /// number; <paramref name="progress"/> runs after each line and at the end (to stream output as it is made).
    /// </summary>
    public static OfflineSimulation Run(RuleSet rules, byte[] events, string source, DateTimeOffset? until, TimeSpan drain,
        TextWriter? rejected, Action<OfflineSimulation>? progress = null, SegmentModel? segments = null)
    {
        var simulation = new OfflineSimulation(rules, segments);
        foreach (var line in NdjsonLines.Read(events))
        {
            var result = simulation.Feed(line.Bytes, line.Number, source);
            if (!result.IsValid)
            {
                rejected?.WriteLine($"line {line.Number}: {result.Reason}: {result.Error}");
            }
            progress?.Invoke(simulation);
        }
        if (until is { } end)
        {
            simulation.AdvanceTo(end);
        }
        else
        {
            simulation.AdvanceBy(drain);
        }
        progress?.Invoke(simulation);
        return simulation;
    }

    /// <summary>The end-of-run notes: alias calls that merged nothing, unknown time zones.</summary>
    public static void Notes(OfflineSimulation simulation, TextWriter stderr)
    {
        if (simulation.AliasesNotMerged > 0)
        {
            stderr.WriteLine($"simulate: {simulation.AliasesNotMerged} alias calls merged nothing: their previousId was seen under a userId, or was merged already (an alias links an anonymousId)");
        }
        if (simulation.UnknownTimezones > 0)
        {
            stderr.WriteLine($"simulate: {simulation.UnknownTimezones} events named a time zone the tz database {TimeZones.DatabaseVersion} does not know; taken as none (UTC)");
        }
    }
}
