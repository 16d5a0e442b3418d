using AngleSharp.Html.Parser;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.WebConsole;

namespace MicroMoments.Stream.IntegrationTests.Console;

/// <summary>The console read as an explanation: triggers as events, near misses as progress, cancelled as its own state, charts with data.</summary>
public sealed class ConsoleExplanationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        version: explain-test
        rules:
          - id: setup-task-failing
            trigger: { kind: count, event: Task Failed, times: 3, within: 10m, per: task }
            action: { moment: clarification, channel: in_app, message: { body: "Stuck?" } }
            policy: { cancelOn: [Task Completed] }
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            experiment:
              name: ping-copy
              variants:
                - { name: control, weight: 1 }
                - { name: short, weight: 1, message: { body: "p!" } }
        """);

    private static string Decision(string rule, string outcome, string? reason, string kind, object details, string at = "2026-11-24T09:50:00.000Z", string intervention = "iv-1") =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            userId = "u-1", ruleId = rule, ruleVersion = "explain-test", outcome, reason, interventionId = intervention, at,
            trigger = new { kind, eventIds = new[] { "4832a046-fea7", "c6ba826f" }, details },
        });

    private static UserState State() => new()
    {
        UserId = "u-1",
        Timezone = "Europe/Berlin",
        FirstSeenAt = Now.AddDays(-30).ToUnixTimeMilliseconds(),
        LastEventAt = Now.AddMinutes(-1).ToUnixTimeMilliseconds(),
        UserPausedUntil = Now.AddDays(3).AddTicks(8_170_000).ToUnixTimeMilliseconds(),
        Interventions = [new InterventionRecord { Id = "iv-1", RuleId = "setup-task-failing", At = Now.AddMinutes(-10).ToUnixTimeMilliseconds() }],
        Windows = new Dictionary<string, List<WindowHit>>
        {
            ["setup-task-failing|billing"] = [new WindowHit(Now.AddMinutes(-6).ToUnixTimeMilliseconds(), "e-7"), new WindowHit(Now.AddMinutes(-2).ToUnixTimeMilliseconds(), "e-8")],
        },
    };

    private static AngleSharp.Html.Dom.IHtmlDocument UserPageOf(UserState state, params string[] decisions) =>
        new HtmlParser().ParseDocument(UserPage.Render("u-1", [new UserRecord("clickstream:0", state, decisions)], Rules, Now));

    [Fact]
    public void UserPage_CountTriggerDecision_ShowsTheTriggeringEventsNotTheirIds()
    {
        var doc = UserPageOf(State(), Decision("setup-task-failing", "emitted", null, "count", new { task = "notifications-setup", count = 3, window = "PT10M" }));

        var trigger = doc.QuerySelector("#decisions td.trigger")!;
        Assert.Equal("3 × Task Failed · task = notifications-setup · within 10 min", trigger.TextContent);
        Assert.DoesNotContain("4832a046", trigger.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void UserPage_CountWindowPartWay_ShowsTheNearMissAsProgressInUtcAndLocalTime()
    {
        var doc = UserPageOf(State());

        var row = doc.QuerySelector("#near-misses tr[data-rule=setup-task-failing]")!;
        Assert.Contains("Task Failed · task = billing", row.TextContent, StringComparison.Ordinal);
        // The oldest hit, 6 min ago, leaves the 10 min window at 10:04 UTC, 11:04 in Berlin.
        Assert.Equal("2 of 3 within 10 min; the window closes at 2026-11-24 10:04:00 UTC (11:04 local)", row.QuerySelector("td.progress")!.TextContent);
    }

    [Fact]
    public void UserPage_CancelledCommand_ShownAsCancelledInCommandsAndTimeline()
    {
        var doc = UserPageOf(State(),
            Decision("setup-task-failing", "cancelled", "cancel_on", "event", new { }, at: "2026-11-24T09:55:00.000Z"),
            Decision("setup-task-failing", "emitted", null, "count", new { task = "billing", count = 3, window = "PT10M" }));

        var command = doc.QuerySelector("#feedback tr[data-status=cancelled]")!;
        Assert.Contains("cancelled (cancel_on), never shown", command.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("no report yet", command.TextContent, StringComparison.Ordinal);
        Assert.Contains("withdrawn by Task Completed", doc.QuerySelector("#decisions tr[data-outcome=cancelled] td.trigger")!.TextContent, StringComparison.Ordinal);
        Assert.Single(doc.QuerySelectorAll("#timeline li.k-cancelled"));
        Assert.Single(doc.QuerySelectorAll("svg.strip circle.k-cancelled"));
    }

    [Fact]
    public void UserPage_RuleWithoutExperiment_ShowsNoVariantColumn()
    {
        var doc = UserPageOf(State());

        Assert.DoesNotContain("variant", doc.QuerySelector("#feedback thead")!.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("control", doc.QuerySelector("#feedback")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void UserPage_CommandWaitingForItsDeliveryTime_ShownAsDeferred()
    {
        var state = State();
        state.PendingDeliveries = [new PendingDelivery { InterventionId = "iv-1", RuleId = "setup-task-failing", Channel = "in_app", DeliverAfter = Now.AddHours(2).ToUnixTimeMilliseconds() }];

        var doc = UserPageOf(state, Decision("setup-task-failing", "deferred", "quiet_hours", "count", new { count = 3 }));

        var command = doc.QuerySelector("#feedback tr[data-status=deferred]")!;
        Assert.Contains("deferred: delivered after 2026-11-24 12:00:00 UTC (13:00 local)", command.TextContent, StringComparison.Ordinal);
        Assert.Single(doc.QuerySelectorAll("#timeline li.k-deferred"));
    }

    [Fact]
    public void UserPage_RuleWithAnExperiment_ShowsTheVariant()
    {
        var state = State();
        state.Interventions!.Add(new InterventionRecord { Id = "iv-2", RuleId = "ping", Variant = "short", At = Now.AddMinutes(-1).ToUnixTimeMilliseconds() });

        var doc = UserPageOf(state);

        Assert.Equal(["short", "-"], doc.QuerySelectorAll("#feedback tbody tr td:nth-child(3)").Select(td => td.TextContent).ToList());
    }

    [Fact]
    public void UserPage_PauseUntil_InTheConsoleTimeFormat()
    {
        var doc = UserPageOf(State());

        Assert.Equal("2026-11-27 10:00:00 UTC (11:00 local)", doc.QuerySelector("#pauses td time")!.TextContent);
        Assert.DoesNotContain("+00:00", doc.QuerySelector("main")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void UserPage_MonthOfHistory_TimelineOnALogScaleWithEveryMark()
    {
        var doc = UserPageOf(State(), Decision("setup-task-failing", "emitted", null, "count", new { count = 3 }));

        var strip = doc.QuerySelector("svg.strip")!;
        Assert.Equal("log", strip.GetAttribute("data-scale"));
        Assert.Equal(doc.QuerySelectorAll("#timeline li").Length, strip.QuerySelectorAll("circle").Length);
        // The last minute's marks stay apart: the newest event and the newest hit are at least 20 px apart on a 670 px axis.
        var xs = strip.QuerySelectorAll("circle.k-event").Select(c => double.Parse(c.GetAttribute("cx")!, System.Globalization.CultureInfo.InvariantCulture)).OrderDescending().ToList();
        Assert.True(xs[0] - xs[1] >= 20, $"newest marks at {xs[0]} and {xs[1]}");
    }

    [Fact]
    public void RulesPage_CancelledCommands_HaveTheirOwnColumnAndBarPart()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["setup-task-failing"] = new() { ["control|matched"] = 4, ["control|emitted"] = 4, ["control|cancelled"] = 2 },
        };

        var doc = new HtmlParser().ParseDocument(RulesPage.Render(new RulesStatus(Rules, "rules.yaml", Now, 0), ResponseReport.Build(counters), Now));

        var row = doc.QuerySelector("#rules tr[data-rule=setup-task-failing]")!;
        Assert.Equal("2", row.QuerySelector("td.cancelled")!.TextContent);
        var parts = row.QuerySelectorAll("svg.bar rect title").Select(t => t.TextContent).ToList();
        Assert.Equal(["emitted: 2", "cancelled: 2"], parts);
    }

    [Fact]
    public void RulesPage_ExperimentWithOneUserPerArm_SaysTooFewToTell()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["ping"] = new() { ["control|matched"] = 1, ["control|emitted"] = 1, ["short|matched"] = 1, ["short|emitted"] = 1, ["short|converted"] = 1 },
        };

        var doc = new HtmlParser().ParseDocument(RulesPage.Render(new RulesStatus(Rules, "rules.yaml", Now, 0), ResponseReport.Build(counters), Now));

        var experiment = doc.QuerySelector("section.experiment[data-rule=ping]")!;
        Assert.Contains("too few to tell (n = 1 < 30)", experiment.QuerySelector("tr[data-variant=short]")!.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("p=", experiment.TextContent, StringComparison.Ordinal);
        Assert.Empty(experiment.QuerySelectorAll("svg.whisker"));
        Assert.NotNull(experiment.QuerySelector(".too-few"));
    }

    [Fact]
    public void RulesPage_ExperimentWithEnoughUsers_DrawsIntervalBars()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["ping"] = new() { ["control|emitted"] = 200, ["control|converted"] = 20, ["short|emitted"] = 200, ["short|converted"] = 40 },
        };

        var doc = new HtmlParser().ParseDocument(RulesPage.Render(new RulesStatus(Rules, "rules.yaml", Now, 0), ResponseReport.Build(counters), Now));

        var whisker = doc.QuerySelector("section.experiment[data-rule=ping] svg.whisker")!;
        Assert.NotEmpty(whisker.QuerySelectorAll("circle"));
        Assert.NotEmpty(whisker.QuerySelectorAll("line[x1]"));
    }

    [Fact]
    public void RulesPage_HourlyCounts_ALast48HoursChartPerRuleWithItsSeries()
    {
        var counters = new Dictionary<string, Dictionary<string, long>> { [Rules.Rules[0].Id] = new() { ["control|matched"] = 5, ["control|emitted"] = 3 } };
        var byHour = new Dictionary<string, Dictionary<string, long>>
        {
            [HourlyOutcomes.HourOf(Now)] = new() { [$"{Rules.Rules[0].Id}|matched"] = 5, [$"{Rules.Rules[0].Id}|sent"] = 3 },
            [HourlyOutcomes.HourOf(Now.AddHours(-30))] = new() { [$"{Rules.Rules[0].Id}|cancelled"] = 1 },
        };
        var report = ResponseReport.Build(counters) with { Hourly = HourlyOutcomes.Chart(byHour, Now) };

        var doc = new HtmlParser().ParseDocument(RulesPage.Render(new RulesStatus(Rules, "rules.yaml", Now, 0), report, Now));

        var chart = doc.QuerySelector($"tr[data-rule='{Rules.Rules[0].Id}'] svg.hourly")!;
        Assert.Equal(["matched", "sent", "suppressed", "cancelled"], chart.QuerySelectorAll("polyline").Select(p => p.GetAttribute("data-series")));
        Assert.Contains("matched 5, sent 3, suppressed 0, cancelled 1", chart.QuerySelector("title")!.TextContent, StringComparison.Ordinal);
        // A rule with nothing in the last 48 hours says so instead of drawing lines.
        var quiet = doc.QuerySelector($"tr[data-rule='{Rules.Rules[1].Id}'] svg.hourly")!;
        Assert.Empty(quiet.QuerySelectorAll("polyline"));
        Assert.Contains("no data", quiet.QuerySelector("title")!.TextContent, StringComparison.Ordinal);
    }
}
