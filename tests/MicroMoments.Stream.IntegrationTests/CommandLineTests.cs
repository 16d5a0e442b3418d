using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Worker;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The offline commands: <c>simulate</c> and <c>rules validate</c>.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-cli-").FullName;

    private static readonly string[] Story =
    [
        Track("u-1", "Task Failed", T0, new { task = "notifications-setup" }),
        Track("u-1", "Task Failed", T0.AddMinutes(1), new { task = "notifications-setup" }),
        Track("u-1", "Task Failed", T0.AddMinutes(2), new { task = "notifications-setup" }),
        Screen("u-2", "Welcome", T0.AddMinutes(3)),
        Track("u-3", "Product Added", T0.AddMinutes(4), new { cartId = "c-1" }),
    ];

    private string File(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllLines(path, lines);
        return path;
    }

    internal static (int Exit, string Out, string Err) Simulate(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = SimulateCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Simulate_SameInput_ByteIdenticalCloudEvents()
    {
        var events = File("events.ndjson", Story);

        var first = Simulate("--events", events);
        var second = Simulate("--events", events);

        Assert.Equal(0, first.Exit);
        Assert.Equal(first.Out, second.Out);
        var lines = first.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The default drain (P7D) also lets the 72-hour inactivity rule fire for each user, and the unanswered
        // discount and "we saved your spot" nudges escalate 48 h later; u-3's second escalation meets the auto-pause
        // (three unanswered in a row).
        Assert.Equal(["setup-task-failing", "welcome-dwell", "cart-abandoned", "cart-abandoned-escalation", "inactive-3-days", "inactive-3-days",
            "inactive-3-days", "inactive-3-days-escalation", "inactive-3-days-escalation"],
            lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("data").GetProperty("ruleId").GetString()));
        // time = the virtual clock when decided: the dwell fires 90 s after the view.
        Assert.Equal("2026-11-24T10:04:30Z", JsonDocument.Parse(lines[1]).RootElement.GetProperty("time").GetString());
    }

    [Fact]
    public void Simulate_RedeliveredLines_ChangeNothing()
    {
        var once = Simulate("--events", File("once.ndjson", Story));
        var twice = Simulate("--events", File("twice.ndjson", Story.SelectMany(l => new[] { l, l })));

        Assert.Equal(once.Out, twice.Out);
    }

    [Fact]
    public void Simulate_MalformedLine_ReportedWithLineNumberAndSkipped()
    {
        var events = File("bad.ndjson", [Story[0], "{not json", Story[1], """{"type":"track","event":"X"}""", Story[2]]);

        var (exit, stdout, stderr) = Simulate("--events", events);

        Assert.Equal(0, exit);
        Assert.Contains("line 2: malformed_json", stderr, StringComparison.Ordinal);
        Assert.Contains("line 4: missing_user_id", stderr, StringComparison.Ordinal);
        Assert.Contains("setup-task-failing", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_Until_StopsTheClockBeforeLaterTimers()
    {
        var (_, stdout, _) = Simulate("--events", File("events.ndjson", Story), "--until", "2026-11-24T10:08:00Z");

        Assert.DoesNotContain("cart-abandoned", stdout, StringComparison.Ordinal); // due 10:09
        Assert.Contains("welcome-dwell", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_Decisions_WrittenAsJsonLines()
    {
        var decisions = Path.Combine(_dir, "decisions.ndjson");

        Simulate("--events", File("events.ndjson", Story), "--decisions", decisions);

        var records = System.IO.File.ReadAllLines(decisions).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(records, r => r.GetProperty("ruleId").GetString() == "cart-abandoned" && r.GetProperty("outcome").GetString() == "emitted");
        Assert.All(records, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("interventionId").GetString())));
    }

    [Fact]
    public void Simulate_UnreadableFileOrInvalidRules_ExitsTwo()
    {
        Assert.Equal(2, Simulate("--events", Path.Combine(_dir, "missing.ndjson")).Exit);
        var rules = File("bad.yaml", ["rules:", "  - id: x", "    trigger: { kind: nope }"]);
        var (exit, _, stderr) = Simulate("--events", File("events.ndjson", Story), "--rules", rules);
        Assert.Equal(2, exit);
        Assert.Contains("line 3", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Item5_Simulate_Year9999FolderZoneAndInvalidUtf8_ReportedWithLineNumbersAndTheRunGoesOn()
    {
        var path = Path.Combine(_dir, "hostile.ndjson");
        var invalid = Encoding.UTF8.GetBytes(Track("u-Q", "Task Failed", T0)).Select(b => b == 'Q' ? (byte)0xFF : b); // no other Q in the line
        System.IO.File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes(Story[0] + "\n"),
            .. Encoding.UTF8.GetBytes(Track("u-9", "Ping", new DateTimeOffset(9999, 12, 31, 23, 0, 0, TimeSpan.Zero)) + "\n"),
            .. Encoding.UTF8.GetBytes(Track("u-4", "Ping", T0).Replace("Europe/Berlin", "Europe", StringComparison.Ordinal) + "\n"),
            .. invalid, (byte)'\n',
            .. Encoding.UTF8.GetBytes(string.Join('\n', Story[1..]) + "\n")]);

        var (exit, stdout, stderr) = Simulate("--events", path);

        Assert.Equal(0, exit);
        Assert.Contains("line 2: invalid_timestamp", stderr, StringComparison.Ordinal);
        Assert.Contains("line 4: malformed_json", stderr, StringComparison.Ordinal);
        Assert.Contains("1 events named a time zone", stderr, StringComparison.Ordinal); // line 3: taken as UTC, counted
        Assert.DoesNotContain("\uFFFD", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("line 3", stderr, StringComparison.Ordinal);
        Assert.Contains("setup-task-failing", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Item5_Simulate_UnwritableDecisionsPath_ExitsTwoBeforeTheRun()
    {
        var (exit, stdout, stderr) = Simulate("--events", File("events.ndjson", Story), "--decisions", Path.Combine(_dir, "missing", "d.ndjson"));

        Assert.Equal(2, exit);
        Assert.Empty(stdout); // nothing was run
        Assert.Contains("cannot write --decisions", stderr, StringComparison.Ordinal);
        Assert.Equal(2, Simulate("--events", File("events.ndjson", Story), "--decisions", _dir).Exit);
        Assert.Equal(2, Simulate("--events", _dir).Exit); // a directory as the events file
    }

    [Fact]
    public void Item5_Simulate_DrainPastTheEndOfTime_RunsToItAndExitsZero()
    {
        var (exit, stdout, _) = Simulate("--events", File("events.ndjson", Story), "--drain", "P9999999D");

        Assert.Equal(0, exit);
        Assert.Contains("setup-task-failing", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void RulesValidate_DefaultRules_ExitZero()
    {
        using var stdout = new StringWriter();
        Assert.Equal(0, RulesValidateCommand.Run(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"), null, stdout, TextWriter.Null));
        Assert.Contains("valid", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RulesValidate_BrokenFile_ListsErrorsWithLineNumbers()
    {
        var rules = File("bad.yaml", ["rules:", "  - id: x", "    trigger: { kind: count, event: A, times: 1, within: 1m }", "    action: { moment: m, channel: c, message: { body: b }, colour: red }"]);
        using var stderr = new StringWriter();

        Assert.Equal(1, RulesValidateCommand.Run(rules, null, TextWriter.Null, stderr));
        Assert.Contains($"{rules}:3:", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains($"{rules}:4:", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RulesValidate_UnknownPathRootOrFilter_ListsEachWithItsLine()
    {
        var rules = File("paths.yaml", ["rules:", "  - id: x", "    trigger: { kind: event, event: A }",
            "    when: [{ path: event.step, equals: \"{{nope.step}}\" }]",
            "    action: { moment: m, channel: c, message: { title: \"{{trigger.task | upper}}\", body: \"Hi {{bogus.path}}\" } }"]);
        using var stderr = new StringWriter();

        Assert.Equal(1, RulesValidateCommand.Run(rules, null, TextWriter.Null, stderr));
        var errors = stderr.ToString();
        Assert.Contains($"{rules}:4:", errors, StringComparison.Ordinal);
        Assert.Contains("unknown path root 'bogus'", errors, StringComparison.Ordinal);
        Assert.Contains("unknown filter 'upper'", errors, StringComparison.Ordinal);
        Assert.Contains($"{rules}:5:", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Item4_DirectoryAsRulesPath_ValidateAndSimulateExitTwo()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "rules.d")).FullName;
        using var stderr = new StringWriter();

        Assert.Equal(2, RulesValidateCommand.Run(folder, null, TextWriter.Null, stderr));
        var simulate = Simulate("--events", File("events.ndjson", Story), "--rules", folder);

        Assert.Equal(2, simulate.Exit);
        Assert.Contains("is a directory", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("is a directory", simulate.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("99999999d")]
    [InlineData("1e300s")]
    [InlineData("P99999999D")]
    [InlineData("Infinityd")]
    public void Item4_DurationOverflow_ValidateAndSimulateReportTheLine(string after)
    {
        var rules = File("overflow.yaml", ["rules:", "  - id: x", $"    trigger: {{ kind: dwell, view: v, after: {after} }}", "    action: { moment: m, channel: c, message: { body: b } }"]);
        using var stderr = new StringWriter();

        Assert.Equal(1, RulesValidateCommand.Run(rules, null, TextWriter.Null, stderr));
        var simulate = Simulate("--events", File("events.ndjson", Story), "--rules", rules);

        Assert.Contains($"{rules}:3:", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, simulate.Exit);
        Assert.Contains("rules line 3", simulate.Err, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RulesValidate_WithTheExampleEvents_PrintsPerRuleCountsAndWarnsForNamesTheSampleLacks()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = RulesValidateCommand.Run(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"),
            Path.Combine(DeploymentConfigTests.Root, "docs", "examples", "events.ndjson"), stdout, stderr);

        Assert.Equal(0, exit);
        Assert.Matches(@"setup-task-failing\s+task failed\s+477 \(60\)\s+477 \(60\)\s+\d+ \(\d+\)", stdout.ToString());
        Assert.Contains("warning: rule 'next-shortcut': trigger event 'intervention clicked' never occurs in the sample", stderr.ToString(), StringComparison.Ordinal);
    }
}
