using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The offline back-test and report: <c>simulate --compare</c> and <c>report --decisions</c>.</summary>
public sealed class BackTestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-bt-").FullName;

    private static string Rules(int capPerHour) => $$"""
        version: cap-{{capPerHour}}
        policies: { caps: [ { max: {{capPerHour}}, per: 1h } ] }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            policy: { onBlocked: drop }
        """;

    /// <summary>Users u-0 … u-4 ping three times, a minute apart.</summary>
    private static readonly string[] Pings = [.. Enumerable.Range(0, 5).SelectMany(u => Enumerable.Range(0, 3)
        .Select(i => Track($"u-{u}", "Ping", T0.AddHours(u).AddMinutes(i))))];

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static (int Exit, string Out, string Err) Simulate(params string[] args) => CommandLineTests.Simulate(args);

    private static async Task<(int Exit, string Out, string Err)> ReportAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ReportCommand.RunAsync(args, new ConfigurationBuilder().Build(), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Compare_CapTightened_FewerEmittedMoreCappedAndTheChangedUsers()
    {
        var (exit, stdout, stderr) = Simulate("--compare", File("a.yaml", Rules(3)), File("b.yaml", Rules(1)), "--events", File("e.ndjson", string.Join('\n', Pings)));

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["emitted", "15", "5", "-10"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["suppressed:", "hourly_cap", "0", "10", "+10"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["matched", "15", "15", "0"]);
        Assert.Contains("Users whose outcome changed: 5", stdout, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["u-0", "ping", "emitted", "ping", "suppressed", "(hourly_cap)"]);
    }

    [Fact]
    public void Compare_TheReadmeExample_RunsAndShowsTheTighterCaps()
    {
        string Repo(string path) => Path.Combine(DeploymentConfigTests.Root, path);

        var (exit, stdout, stderr) = Simulate("--compare", Repo("src/MicroMoments.Stream.Worker/Rules/default.rules.yaml"),
            Repo("docs/examples/tighter-caps.rules.yaml"), "--events", Repo("docs/examples/events.ndjson"));

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var capped = stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w is ["suppressed:", "expired", _, _, _]).ToList(); // tighter caps defer, and some expire waiting
        Assert.NotEmpty(capped);
        Assert.All(capped, w => Assert.True(int.Parse(w[3], System.Globalization.CultureInfo.InvariantCulture) > int.Parse(w[2], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Matches(@"Users whose outcome changed: [1-9]", stdout);
    }

    [Fact]
    public void Compare_IdenticalFiles_NoDifferenceNoChangedUsers()
    {
        var rules = File("a.yaml", Rules(2));

        var (exit, stdout, _) = Simulate("--compare", rules, rules, "--events", File("e.ndjson", string.Join('\n', Pings)), "--json");

        Assert.Equal(0, exit);
        var json = JsonDocument.Parse(stdout).RootElement;
        var comparison = json.GetProperty("comparison");
        Assert.All(comparison.GetProperty("rules").EnumerateArray().SelectMany(r => r.GetProperty("metrics").EnumerateArray()),
            m => Assert.Equal(0, m.GetProperty("difference").GetInt32()));
        Assert.Equal(0, comparison.GetProperty("changedUserCount").GetInt32());
        Assert.Empty(comparison.GetProperty("changedUsers").EnumerateArray());
        Assert.Equal(rules, json.GetProperty("rulesA").GetString());
    }

    [Fact]
    public void Compare_Json_RuleDeltasAndChangedUsersWithBeforeAndAfter()
    {
        var (exit, stdout, _) = Simulate("--compare", File("a.yaml", Rules(3)), File("b.yaml", Rules(1)), "--events", File("e.ndjson", string.Join('\n', Pings)), "--json");

        Assert.Equal(0, exit);
        var comparison = JsonDocument.Parse(stdout).RootElement.GetProperty("comparison");
        var ping = comparison.GetProperty("rules")[0];
        Assert.Equal(("ping", "both"), (ping.GetProperty("ruleId").GetString(), ping.GetProperty("presence").GetString()));
        var emitted = ping.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("metric").GetString() == "emitted");
        Assert.Equal((15, 5, -10), (emitted.GetProperty("a").GetInt32(), emitted.GetProperty("b").GetInt32(), emitted.GetProperty("difference").GetInt32()));
        var first = comparison.GetProperty("changedUsers")[0];
        Assert.Equal("u-0", first.GetProperty("userId").GetString());
        Assert.Equal("emitted", first.GetProperty("before").GetProperty("outcome").GetString());
        Assert.Equal("hourly_cap", first.GetProperty("after").GetProperty("reason").GetString());
    }

    private static string DelayedRules(string cancelOn) => $$"""
        version: delayed
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, delay: 10m, message: { body: pong } }
            policy: { cancelOn: [{{cancelOn}}] }
        """;

    [Fact]
    public void Compare_CommandCancelledInAOnly_TheUserShownEmittedThenCancelledInTextAndJson()
    {
        var events = File("e.ndjson", string.Join('\n', Track("u-0", "Ping", T0), Track("u-0", "Order Completed", T0.AddMinutes(1))));
        var a = File("a.yaml", DelayedRules("Order Completed"));
        var b = File("b.yaml", DelayedRules("Cart Emptied"));

        var (exit, stdout, stderr) = Simulate("--compare", a, b, "--events", events);
        var json = Simulate("--compare", a, b, "--events", events, "--json");

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["cancelled", "1", "0", "-1"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["emitted", "1", "1", "0"]);
        var user = Assert.Single(lines, l => l.StartsWith("  u-0 ", StringComparison.Ordinal));
        Assert.Equal(["u-0", "ping", "emitted", "→", "cancelled", "(cancel_on:order", "completed)", "ping", "emitted"], user.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var before = JsonDocument.Parse(json.Out).RootElement.GetProperty("comparison").GetProperty("changedUsers")[0].GetProperty("before");
        Assert.Equal(("emitted", "cancelled", "cancel_on:order completed"), (before.GetProperty("outcome").GetString(),
            before.GetProperty("finalOutcome").GetString(), before.GetProperty("finalReason").GetString()));
        Assert.Equal("cancelled", before.GetProperty("then")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public void Compare_InvalidRulesOrUnreadableEvents_ExitsTwoWithTheErrors()
    {
        var good = File("a.yaml", Rules(3));
        var bad = File("bad.yaml", "rules:\n  - id: x\n    trigger: { kind: nope }\n");
        var events = File("e.ndjson", string.Join('\n', Pings));

        var invalid = Simulate("--compare", good, bad, "--events", events);
        Assert.Equal(2, invalid.Exit);
        Assert.Contains($"{bad} line 3", invalid.Err, StringComparison.Ordinal);
        Assert.Empty(invalid.Out);
        Assert.Equal(2, Simulate("--compare", good, good, "--events", Path.Combine(_dir, "missing.ndjson")).Exit);
        Assert.Equal(2, Simulate("--compare", good, Path.Combine(_dir, "missing.yaml"), "--events", events).Exit);
        Assert.Equal(2, Simulate("--events", events, "--compare", good).Exit);
    }

    [Fact]
    public async Task ReportDecisions_SimulatedStreamWithFeedback_PrintsTheHandComputedRates()
    {
        var rules = File("r.yaml", Rules(3));
        var events = string.Join('\n', Pings.Where((_, i) => i % 3 == 0)); // one ping per user: 5 commands
        var sent = Simulate("--events", File("e.ndjson", events), "--rules", rules).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => InterventionCloudEvents.Decode(System.Text.Encoding.UTF8.GetBytes(l))).ToList();
        Assert.Equal(5, sent.Count);
        // All 5 delivered, 4 displayed; 2 clicked, 1 dismissed, 1 converted: CTR 2/5 = 40.0 %, dismissals 20.0 %, conversion 20.0 %.
        var feedback = sent.SelectMany((c, i) => new[] { "Delivered", "Displayed", i < 2 ? "Clicked" : i == 2 ? "Dismissed" : null, i == 0 ? "Converted" : null }
            .Where(k => k is not null && !(k == "Displayed" && i == 4))
            .Select(k => Track(c.UserId, $"Intervention {k}", c.DecidedAt.AddSeconds(10), new { interventionId = c.InterventionId, ruleId = c.RuleId })));
        var decisions = Path.Combine(_dir, "decisions.ndjson");
        Assert.Equal(0, Simulate("--events", File("f.ndjson", events + "\n" + string.Join('\n', feedback)), "--rules", rules, "--decisions", decisions).Exit);
        System.IO.File.AppendAllText(decisions, "not a record\n");

        var text = await ReportAsync("--decisions", decisions);
        var json = await ReportAsync("--decisions", decisions, "--json");

        Assert.Equal(0, text.Exit);
        Assert.Contains("line 19: not a decision or feedback record", text.Err, StringComparison.Ordinal); // after 5 decisions and 13 feedback records
        var row = text.Out.Split('\n').Single(l => l.StartsWith("ping ", StringComparison.Ordinal) && l.Contains("control", StringComparison.Ordinal));
        Assert.Equal(["ping", "control", "5", "5", "0", "0", "40.0", "%", "20.0", "%", "20.0", "%", "-", "-"], row.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var counts = JsonDocument.Parse(json.Out).RootElement.GetProperty("variants")[0].GetProperty("counts");
        Assert.Equal((5, 5, 4, 2, 1, 1), (counts.GetProperty("emitted").GetInt32(), counts.GetProperty("delivered").GetInt32(), counts.GetProperty("displayed").GetInt32(),
            counts.GetProperty("clicked").GetInt32(), counts.GetProperty("dismissed").GetInt32(), counts.GetProperty("converted").GetInt32()));
    }

    [Fact]
    public async Task ReportDecisions_UnreadableFile_ExitsTwo()
    {
        var (exit, _, stderr) = await ReportAsync("--decisions", Path.Combine(_dir, "missing.ndjson"));

        Assert.Equal(2, exit);
        Assert.Contains("cannot read --decisions", stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
