using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
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
    /// Event parser plus engine: every line as a Kafka value through the worker's parser, then the file as
    /// <c>simulate</c> reads it (<see cref="NdjsonLines"/>) through the offline simulation with the default rules,
    /// drained by its default P7D, with its output encoded and each user's state serialised as the worker stores it.
    /// </summary>
    public static void Events(ReadOnlySpan<byte> input)
    {
        var now = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        var parser = new ClickEventParser(new ParserLimits());
        var lines = Lines(input.ToArray());
        foreach (var line in lines)
        {
            _ = parser.Parse(line.Bytes, null, new RecordSource("fuzz", 0, line.Number, now), now);
        }
        Simulate(DefaultRules.Value, lines);
    }

    /// <summary>
    /// The rules loader on any bytes, read as <c>RuleSetLoader.ReadFile</c> reads a rules file; a file it accepts then
    /// runs a short script through <c>simulate</c>, as a file that passes <c>rules validate</c> may be used.
    /// </summary>
    public static void Rules(ReadOnlySpan<byte> input)
    {
        RuleSet rules;
        try
        {
            rules = RuleSetLoader.Load(RuleSetLoader.ReadText(new MemoryStream(input.ToArray()), "fuzz.yaml"));
        }
        catch (Exception ex) when (ex is RuleSetException or IOException)
        {
            return; // the documented refusals: a list of errors with line numbers, or a file over the size limit
        }
        Simulate(rules, Lines(Encoding.UTF8.GetBytes(string.Join('\n', Script))));
    }

    private static readonly Lazy<RuleEngine> StateEngine = new(() => new RuleEngine(DefaultRules.Value, new EngineOptions { CheckStaleness = false }));

    /// <summary>
    /// A stored user state, read as the worker loads it: either the one typed "unreadable state" error, or a state that
    /// serialises again, reads back, and takes an event and a timer check through the default rules without an exception.
    /// </summary>
    public static void State(ReadOnlySpan<byte> input)
    {
        UserState state;
        try
        {
            state = UserStateSerializer.Read(input, "f-1");
        }
        catch (UnreadableStateException)
        {
            return; // the documented outcome: quarantined, the user starts fresh
        }
        // Every readable state round-trips through the container: it reads back equal (in the JSON view), and reading and
        // writing it again gives the same bytes.
        var again = UserStateSerializer.Read(UserStateSerializer.Serialize(state, UserStateFormat.Container), "f-1");
        if (!UserStateSerializer.ToJson(again).AsSpan().SequenceEqual(UserStateSerializer.ToJson(state)))
        {
            throw new InvalidOperationException("the container reads back another state");
        }
        _ = UserStateSerializer.Read(UserStateSerializer.Serialize(state, UserStateFormat.Binary), "f-1");
        var written = UserStateSerializer.Serialize(again, UserStateFormat.Container);
        if (!UserStateSerializer.Serialize(UserStateSerializer.Read(written, "f-1"), UserStateFormat.Container).AsSpan().SequenceEqual(written))
        {
            throw new InvalidOperationException("the container is not the same bytes when read and written again");
        }
        _ = UserStateSerializer.Read(UserStateSerializer.ToJson(state), "f-1");
        var now = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        var parsed = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(Script[5]), null, new RecordSource("fuzz", 0, 1, now), now);
        _ = StateEngine.Value.Apply(state, parsed.Event!, new RecordSource("fuzz", 0, 1, now), now);
        _ = StateEngine.Value.FireDue(state, now.AddDays(3));
    }

    /// <summary>
    /// The state target's seeds (file name → bytes): a rich and a new state in format 1 (<c>.bin</c>, as versions before the
    /// container wrote), JSON and the container (<c>.v2</c>), and each corrupt form.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Bytes)> StateSeeds()
    {
        const long t = 1_795_000_000_000;
        var rich = new UserState
        {
            UserId = "f-1", LastEventAt = t, FirstSeenAt = t - 86_400_000, Device = "mobile", Timezone = "Europe/Berlin",
            Watermarks = new(StringComparer.Ordinal) { ["clickstream/3"] = 12 },
            Traits = new(StringComparer.Ordinal) { ["name"] = "Ada" },
            FeatureCounts = new(StringComparer.Ordinal) { ["dashboard"] = 3 },
            EngagementPoints = new() { [20_700] = 25 },
            TaskDurations = new(StringComparer.Ordinal) { ["t"] = 9000 },
            Interventions = [new InterventionRecord { Id = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b", RuleId = "help-center-demo", Variant = "short", At = t - 1000, Status = "clicked", ConvertUntil = t + 1000 }],
            Dismissals = new(StringComparer.Ordinal) { ["r1"] = 2 },
            RulePausedUntil = new(StringComparer.Ordinal) { ["r1"] = t + 3_600_000 },
            RecentIds = [1, 2],
            Windows = new(StringComparer.Ordinal) { ["setup-task-failing|t"] = [new WindowHit(t - 5000, "m1")] },
            Timers = [new PendingTimer { Id = "cart-abandoned|c1", OwnRuleId = "cart-abandoned", DueAt = t + 300_000, ArmedBy = "m2", Details = new(StringComparer.Ordinal) { ["cartId"] = "c1" } }],
            Sent = [new SentRecord(t - 1000, "help-center-demo", "in_app", "conversion")],
            ActiveHours = new byte[24],
            PendingDeliveries = [new PendingDelivery { InterventionId = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6c", RuleId = "cart-abandoned", Channel = "push", DeliverAfter = t + 60_000, Per = "c1" }],
        };
        var fresh = new UserState { UserId = "f-1" };
        yield return ("valid-rich.bin", UserStateSerializer.Serialize(rich, UserStateFormat.Binary));
        yield return ("valid-rich.json", UserStateSerializer.ToJson(rich));
        yield return ("valid-rich.v2", UserStateSerializer.Serialize(rich, UserStateFormat.Container));
        yield return ("valid-new.bin", UserStateSerializer.Serialize(fresh, UserStateFormat.Binary));
        yield return ("valid-new.json", UserStateSerializer.ToJson(fresh));
        yield return ("valid-new.v2", UserStateSerializer.Serialize(fresh, UserStateFormat.Container));
        foreach (var (name, value) in Core.Tests.CorruptStates.For("f-1"))
        {
            yield return ($"corrupt-{name}", value);
        }
    }

    /// <summary>The lines of <paramref name="file"/> as <c>simulate</c> feeds them, up to line <paramref name="maxLines"/>.</summary>
    public static List<NdjsonLine> Lines(byte[] file, int maxLines = MaxLines) =>
        [.. NdjsonLines.Read(file).TakeWhile(l => l.Number <= maxLines)];

    private static void Simulate(RuleSet rules, List<NdjsonLine> lines)
    {
        var simulation = new OfflineSimulation(rules);
        foreach (var line in lines)
        {
            _ = simulation.Feed(line.Bytes, line.Number, "fuzz.ndjson");
        }
        simulation.AdvanceBy(Drain);
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
