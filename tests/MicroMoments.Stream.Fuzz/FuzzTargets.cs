using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Fuzz;

/// <summary>
/// The two fuzz targets of issue 11, as plain methods: any exception or hang they show is a bug. The fuzzer
/// (Program) runs them under SharpFuzz; MicroMoments.Stream.Core.Tests links this file and replays the corpus through them.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Lines beyond this are ignored: the fuzzer looks for bad records, not for big files.</summary>
    public const int MaxLines = 4096;

    private static readonly TimeSpan Drain = TimeSpan.FromDays(7); // simulate's default --drain

    private static readonly Lazy<RuleSet> DefaultRules = new(() =>
        RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml")));

    // Touches every event of the contract's vocabulary, so a fuzzed rules file gets its triggers, timers and templates run.
    private static readonly string[] Script =
    [
        """{"type":"track","event":"Signed Up","userId":"f-1","timestamp":"2026-11-24T10:00:00Z","traits":{"name":"Ada","plan":"trial"},"context":{"timezone":"Europe/Berlin","device":{"type":"mobile"}}}""",
        """{"type":"screen","name":"Welcome","userId":"f-1","timestamp":"2026-11-24T10:00:01Z"}""",
        """{"type":"track","event":"Onboarding Step Viewed","userId":"f-1","timestamp":"2026-11-24T10:03:00Z","properties":{"step":3,"totalSteps":3}}""",
        """{"type":"track","event":"Onboarding Step Skipped","userId":"f-1","timestamp":"2026-11-24T10:03:10Z","properties":{"step":3,"totalSteps":3}}""",
        """{"type":"track","event":"Onboarding Step Completed","userId":"f-1","timestamp":"2026-11-24T10:03:20Z","properties":{"step":2,"totalSteps":3}}""",
        """{"type":"track","event":"Task Failed","userId":"f-1","timestamp":"2026-11-24T10:04:00Z","properties":{"task":"t"}}""",
        """{"type":"track","event":"Task Failed","userId":"f-1","timestamp":"2026-11-24T10:04:10Z","properties":{"task":"t"}}""",
        """{"type":"track","event":"Task Failed","userId":"f-1","timestamp":"2026-11-24T10:04:20Z","properties":{"task":"t"}}""",
        """{"type":"track","event":"Task Completed","userId":"f-1","timestamp":"2026-11-24T10:05:00Z","properties":{"task":"t","durationMs":9000}}""",
        """{"type":"track","event":"Task Completed","userId":"f-1","timestamp":"2026-11-24T10:06:00Z","properties":{"task":"t","durationMs":3000}}""",
        """{"type":"track","event":"Feature Used","userId":"f-1","timestamp":"2026-11-24T10:07:00Z","properties":{"feature":"dashboard"}}""",
        """{"type":"track","event":"Form Field Abandoned","userId":"f-1","timestamp":"2026-11-24T10:08:00Z","properties":{"form":"profile","field":"Company Description"}}""",
        """{"type":"track","event":"Product Added","userId":"f-1","timestamp":"2026-11-24T10:09:00Z","properties":{"cartId":"c1","value":12.5}}""",
        """{"type":"track","event":"Help Center Exited","userId":"f-1","timestamp":"2026-11-24T10:20:00Z","properties":{"article":"a"}}""",
        """{"type":"track","event":"Setup Completed","userId":"f-1","timestamp":"2026-11-24T10:21:00Z","properties":{"task":"t"}}""",
        """{"type":"track","event":"Content Shared","userId":"f-1","timestamp":"2026-11-24T10:22:00Z","properties":{"contentId":"x"}}""",
        """{"type":"track","event":"Intervention Dismissed","userId":"f-1","timestamp":"2026-11-24T10:23:00Z","properties":{"ruleId":"r1"}}""",
        """{"type":"track","event":"Onboarding Completed","userId":"f-1","timestamp":"2026-11-25T10:00:00Z"}""",
    ];

    /// <summary>
    /// Event parser plus engine: every line as a Kafka value through the worker's parser, then the lines as
    /// <c>simulate</c> reads them through the offline simulation with the default rules, drained by its default
    /// P7D, with its output encoded and each user's state serialised as the worker stores it.
    /// </summary>
    public static void Events(ReadOnlySpan<byte> input)
    {
        var now = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        var parser = new ClickEventParser(new ParserLimits());
        var rest = input;
        for (var n = 1; n <= MaxLines && !rest.IsEmpty; n++)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            _ = parser.Parse(line.ToArray(), null, new RecordSource("fuzz", 0, n, now), now);
        }
        Simulate(DefaultRules.Value, Lines(input));
    }

    /// <summary>
    /// The rules loader on any bytes, read as <c>File.ReadAllText</c> reads a rules file; a file it accepts then
    /// runs a short script through <c>simulate</c>, as a file that passes <c>rules validate</c> may be used.
    /// </summary>
    public static void Rules(ReadOnlySpan<byte> input)
    {
        using var reader = new StreamReader(new MemoryStream(input.ToArray()), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        RuleSet rules;
        try
        {
            rules = RuleSetLoader.Load(reader.ReadToEnd());
        }
        catch (RuleSetException)
        {
            return; // the documented refusal: a list of errors with line numbers
        }
        Simulate(rules, Script);
    }

    /// <summary>The lines of <paramref name="input"/> as <c>simulate</c> reads them (File.ReadAllLines).</summary>
    public static List<string> Lines(ReadOnlySpan<byte> input, int maxLines = MaxLines)
    {
        using var reader = new StreamReader(new MemoryStream(input.ToArray()), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lines = new List<string>();
        while (lines.Count < maxLines && reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }
        return lines;
    }

    private static void Simulate(RuleSet rules, IReadOnlyList<string> lines)
    {
        var simulation = new OfflineSimulation(rules);
        for (var i = 0; i < lines.Count; i++)
        {
            if (!string.IsNullOrWhiteSpace(lines[i]))
            {
                _ = simulation.Feed(lines[i], i + 1, "fuzz.ndjson");
            }
        }
        simulation.AdvanceTo(simulation.Clock + Drain);
        foreach (var command in simulation.Interventions)
        {
            _ = InterventionCloudEvents.Encode(command);
        }
        foreach (var decision in simulation.Decisions)
        {
            _ = JsonSerializer.Serialize(decision, InterventionCloudEvents.DataOptions);
        }
        foreach (var state in simulation.Users.Values)
        {
            _ = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));
            _ = UserStateSerializer.ToJson(state);
        }
    }
}
