using AngleSharp.Html.Parser;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.WebConsole;

namespace MicroMoments.Stream.IntegrationTests.Console;

/// <summary>The console's pages as HTML, parsed with AngleSharp: structure and escaping, no server or browser.</summary>
public sealed class ConsolePageTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private const string Script = "<script>document.title='owned'</script>";

    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        version: page-test
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            policy: { cooldown: 1h }
        """);

    private static string Decision(string rule, string outcome, string? reason, string user = "u-1") =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            userId = user, ruleId = rule, ruleVersion = "page-test", outcome, reason, interventionId = "iv-" + outcome,
            at = "2026-11-24T09:59:00.000Z", trigger = new { kind = "event", eventIds = new[] { "e-1" }, details = new { } },
        });

    private static UserState State(string user) => new()
    {
        UserId = user,
        FirstSeenAt = Now.AddDays(-3).ToUnixTimeMilliseconds(),
        LastEventAt = Now.AddMinutes(-1).ToUnixTimeMilliseconds(),
        Traits = new OrderedDictionary<string, string> { ["plan"] = "<b>gold</b>", ["bio"] = Script },
        Timers = [new PendingTimer { Id = "ping", DueAt = Now.AddMinutes(5).ToUnixTimeMilliseconds(), ArmedBy = "<i>e-2</i>" }],
        Interventions = [new InterventionRecord { Id = "iv-emitted", RuleId = "ping", At = Now.AddMinutes(-2).ToUnixTimeMilliseconds(), Status = "clicked", Converted = true }],
        Windows = new Dictionary<string, List<WindowHit>> { ["ping|<img src=x>"] = [new WindowHit(Now.AddMinutes(-3).ToUnixTimeMilliseconds(), "<img src=y>")] },
    };

    [Fact]
    public void UserPage_SuppressedDecision_NamesTheGateInItsRow()
    {
        var record = new UserRecord("clickstream:0", State("u-1"), [Decision("ping", "suppressed", "cooldown"), Decision("ping", "emitted", null)]);

        var doc = new HtmlParser().ParseDocument(UserPage.Render("u-1", [record], Rules, Now));

        var row = Assert.Single(doc.QuerySelectorAll("#decisions tr.decision[data-outcome=suppressed]"));
        Assert.Equal("cooldown", row.QuerySelector("td.gate")!.TextContent);
        Assert.Equal("", doc.QuerySelector("#decisions tr.decision[data-outcome=emitted] td.gate")!.TextContent);
        Assert.Contains("lifecycle stage", doc.QuerySelector("#derived")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("engagement score", doc.QuerySelector("#derived")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("clicked, converted", doc.QuerySelector("#feedback")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("5 min", doc.QuerySelector("#timers")!.TextContent, StringComparison.Ordinal);
        Assert.NotEmpty(doc.QuerySelectorAll("#timeline li.k-decision"));
        Assert.Equal("u-1", ((AngleSharp.Html.Dom.IHtmlInputElement)doc.QuerySelector("#user-id")!).Value);
    }

    [Fact]
    public void UserPage_CommandWaitingForItsTimeAndABestTimeChoice_ListedWithWhatWouldWithdrawIt()
    {
        var rules = RuleSetLoader.Load("""
            version: page-test
            rules:
              - id: cart
                trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 5m, per: cartId }
                action: { moment: conversion, channel: push, message: { body: back } }
            """);
        var state = State("u-1");
        state.PendingDeliveries = [new PendingDelivery { InterventionId = "iv-wait", RuleId = "cart", Channel = "push", DeliverAfter = Now.AddHours(7).ToUnixTimeMilliseconds(), Per = "<b>c-1</b>" }];
        var decision = Decision("cart", "deferred", "best_time").Replace("\"trigger\"", "\"delivery\":{\"mode\":\"best_time\",\"hour\":20,\"basis\":\"history\",\"activeDays\":6},\"trigger\"", StringComparison.Ordinal);

        var doc = new HtmlParser().ParseDocument(UserPage.Render("u-1", [new UserRecord("clickstream:0", state, [decision])], rules, Now));

        var row = Assert.Single(doc.QuerySelectorAll("#pending-deliveries tbody tr"));
        Assert.Contains("order completed (<b>c-1</b>), a pause", row.TextContent, StringComparison.Ordinal);
        Assert.Contains("7 h", row.TextContent, StringComparison.Ordinal);
        Assert.Empty(doc.QuerySelectorAll("#pending-deliveries b"));
        Assert.Contains("best_time 20:00 local (history, 6 active hour-days)", doc.QuerySelector("#decisions td.gate")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void UserPage_MarkupInIdsTraitsAndDecisions_ShowsAsTextAndInjectsNoElement()
    {
        var user = "\"><img src=x onerror=alert(1)>" + Script;
        var record = new UserRecord("clickstream:0", State(user), [Decision("<b>rule</b>", "<i>new</i>", Script, user)]);

        var doc = new HtmlParser().ParseDocument(UserPage.Render(user, [record], Rules, Now));

        Assert.Empty(doc.QuerySelectorAll("script"));
        Assert.Empty(doc.QuerySelectorAll("img"));
        Assert.Empty(doc.QuerySelectorAll("main b, main i"));
        Assert.Empty(doc.QuerySelectorAll("[onerror]"));
        Assert.Equal(user, doc.QuerySelector("#user")!.TextContent);
        Assert.Equal(user, ((AngleSharp.Html.Dom.IHtmlInputElement)doc.QuerySelector("#user-id")!).Value);
        Assert.Contains(Script, doc.QuerySelector("#traits")!.TextContent, StringComparison.Ordinal);
        Assert.Equal(Script, doc.QuerySelector("#decisions td.gate")!.TextContent);
        Assert.Equal("<i>new</i>", doc.QuerySelector("#decisions tr.decision")!.GetAttribute("data-outcome"));
    }

    [Fact]
    public void UserPage_UnknownUser_SaysSoAndRendersNoSection()
    {
        var doc = new HtmlParser().ParseDocument(UserPage.Render("nobody", [], Rules, Now));

        Assert.NotNull(doc.QuerySelector("#not-found"));
        Assert.Empty(doc.QuerySelectorAll("section.shard"));
    }

    [Fact]
    public void RulesPage_CountersWithAnExperiment_ShowsRatesReasonsAndVariantIntervals()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["ping"] = new()
            {
                ["control|matched"] = 200, ["control|emitted"] = 150, ["control|delivered"] = 150, ["control|clicked"] = 30, ["control|converted"] = 15,
                ["control|suppressed.cooldown"] = 40, ["control|suppressed.some_future_gate"] = 10,
                ["short|matched"] = 200, ["short|emitted"] = 150, ["short|delivered"] = 150, ["short|clicked"] = 60, ["short|converted"] = 30,
                ["holdout|matched"] = 40, ["holdout|held_out"] = 40, ["holdout|converted"] = 2,
            },
            ["<script>gone</script>"] = new() { ["control|matched"] = 3, ["control|emitted"] = 3 },
        };
        var status = new RulesStatus(Rules, "/etc/rules.yaml", Now.AddHours(-2), 1);

        var doc = new HtmlParser().ParseDocument(RulesPage.Render(status, ResponseReport.Build(counters), Now));

        Assert.Contains("page-test", doc.QuerySelector("#rules-version")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("2 h", doc.QuerySelector("#rules-version")!.TextContent, StringComparison.Ordinal);
        var ping = doc.QuerySelector("#rules tr[data-rule=ping]")!;
        Assert.Contains("some_future_gate", ping.QuerySelector("td.suppressed")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("30.0 % [", ping.TextContent, StringComparison.Ordinal); // click-through (30 + 60) / 300 delivered
        Assert.Contains("15.0 % [", ping.TextContent, StringComparison.Ordinal); // conversion (15 + 30) / 300 sent
        Assert.NotNull(ping.QuerySelector("svg.bar"));
        Assert.Single(doc.QuerySelectorAll("section.experiment[data-rule=ping] svg.whisker"));
        Assert.Empty(doc.QuerySelectorAll("script"));
        Assert.Contains("(not loaded)", doc.QuerySelector("#rules")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void RetentionPage_CohortAndArmCounters_ShowsCurvesDifferencesAndEscapes()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            [""] = new()
            {
                ["2026-11-01|active"] = 4, ["2026-11-15|active"] = 1,
                ["2026-11-01|signed_up"] = 4, ["2026-11-01|retained_d1"] = 3, ["2026-11-01|retained_d3"] = 2,
                ["2026-11-01|entered.treated:ping"] = 2, ["2026-11-01|retained_d1.treated:ping"] = 2,
                ["2026-11-01|entered.global_control:ping"] = 2, ["2026-11-01|retained_d1.global_control:ping"] = 1,
                ["2026-11-01|entered.treated:<script>gone</script>"] = 1,
            },
        };

        var doc = new HtmlParser().ParseDocument(RetentionPage.Render(ResponseReport.Build(counters).Retention));

        var cohort = doc.QuerySelectorAll("#cohorts tr[data-cohort='2026-11-01'] td").Select(td => td.TextContent).ToList();
        Assert.Equal(["2026-11-01", "4", "75.0 % (3/4)", "50.0 % (2/4)", "0.0 % (0/4)", "0.0 % (0/4)", "-"], cohort);
        var ping = doc.QuerySelector("section.arms[data-rule=ping]")!;
        Assert.StartsWith("100.0 % [", ping.QuerySelector("tr[data-arm=treated] td:nth-child(3)")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("+50.0 pt [", ping.QuerySelector("tr[data-comparison='vs global_control']")!.TextContent, StringComparison.Ordinal);
        Assert.Empty(doc.QuerySelectorAll("script"));
        Assert.Contains("<script>gone</script>", doc.QuerySelector("section.arms[data-rule='<script>gone</script>'] h3")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void RetentionPage_ThreeCohortsAndTwoArms_DrawsALinePerCurveWithAPointPerObservableDayAboveEachTable()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            [""] = new()
            {
                ["2026-11-01|active"] = 4, ["2026-11-15|active"] = 1, // observed through 2026-11-15
                ["2026-11-01|signed_up"] = 4, ["2026-11-01|retained_d1"] = 3, ["2026-11-01|retained_d3"] = 2,
                ["2026-11-12|signed_up"] = 2, ["2026-11-12|retained_d1"] = 2, ["2026-11-12|retained_d3"] = 1, // days 1 and 3 observable
                ["2026-11-15|signed_up"] = 1, // no day observable yet
                ["2026-11-01|entered.treated:ping"] = 2, ["2026-11-01|retained_d1.treated:ping"] = 2,
                ["2026-11-01|entered.global_control:ping"] = 2, ["2026-11-01|retained_d1.global_control:ping"] = 1,
            },
        };

        var doc = new HtmlParser().ParseDocument(RetentionPage.Render(ResponseReport.Build(counters).Retention));

        var cohorts = doc.QuerySelector("svg.lines[data-chart=cohorts]")!;
        Assert.Equal("cohorts", cohorts.NextElementSibling!.Id); // the picture above its table
        Assert.Equal(["2026-11-01", "2026-11-12", "2026-11-15", "all"], cohorts.QuerySelectorAll("g.curve").Select(g => g.GetAttribute("data-curve")));
        Assert.Equal(3, cohorts.QuerySelectorAll("polyline").Length); // the cohort with no observable day has no line
        string[] Days(AngleSharp.Dom.IElement chart, string curve) =>
            [.. chart.QuerySelectorAll($"g.curve[data-curve='{curve}'] circle").Select(c => c.GetAttribute("data-day")!)];
        Assert.Equal(["1", "3", "7", "14"], Days(cohorts, "2026-11-01"));
        Assert.Equal(["1", "3"], Days(cohorts, "2026-11-12"));
        Assert.Empty(Days(cohorts, "2026-11-15"));
        Assert.Equal(["1", "3", "7", "14"], Days(cohorts, "all"));
        var day1 = cohorts.QuerySelector("g.curve[data-curve='2026-11-01'] circle[data-day='1']")!;
        Assert.Equal("2026-11-01, day 1: 75.0 % (3/4)", day1.TextContent);
        Assert.Equal("45.5", day1.GetAttribute("cy")); // 8 + (1 − 0.75) × 150: 0–100 % up a 150-pixel plot
        var arms = doc.QuerySelector("section.arms[data-rule=ping] svg.lines[data-chart=arms]")!;
        Assert.Equal(["treated", "global_control"], arms.QuerySelectorAll("g.curve").Select(g => g.GetAttribute("data-curve")));
        Assert.Equal(2, arms.QuerySelectorAll("polyline").Length);
        Assert.Equal("table", arms.NextElementSibling!.LocalName);
        Assert.Empty(doc.QuerySelectorAll("script"));
    }

    [Fact]
    public void RetentionPage_TwelveCohorts_ChartDrawsTheLatestEightAndAllWhileTheTableListsEvery()
    {
        var cohorts = Enumerable.Range(1, 12).ToDictionary(d => $"2026-11-{d:00}|signed_up", _ => 1L);
        cohorts["2026-11-20|active"] = 1;

        var doc = new HtmlParser().ParseDocument(RetentionPage.Render(ResponseReport.Build(new Dictionary<string, Dictionary<string, long>> { [""] = cohorts }).Retention));

        var drawn = doc.QuerySelectorAll("svg[data-chart=cohorts] g.curve").Select(g => g.GetAttribute("data-curve")).ToList();
        Assert.Equal([.. Enumerable.Range(5, 8).Select(d => $"2026-11-{d:00}"), "all"], drawn);
        Assert.Equal(13, doc.QuerySelectorAll("#cohorts tr[data-cohort]").Length);
    }
}
