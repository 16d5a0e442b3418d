using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Tests;

public sealed class RetentionReportTests
{
    // Cohort 2026-11-01: a, b, c; cohort 2026-11-10: d, e; the data ends on 2026-11-15 (c's last event).
    //   a: active 11-02 and 11-08          → day 1, 3, 7 (active on a day ≥ N after sign-up), not 14
    //   b: signed up 23:30, active 00:30   → day 1 (calendar days in UTC, not 24 h)
    //   c: active 11-15                    → day 1, 3, 7, 14
    //   d: active 11-11                    → day 1
    //   e: active later the same day, then only a click on a nudge (feedback is not activity) → nothing
    //   f: never signed up: activity only
    private const string Events = """
        {"type":"track","event":"Signed Up","userId":"a","messageId":"a0","timestamp":"2026-11-01T10:00:00Z"}
        {"type":"track","event":"Signed Up","userId":"c","messageId":"c0","timestamp":"2026-11-01T12:00:00Z"}
        {"type":"track","event":"Signed Up","userId":"b","messageId":"b0","timestamp":"2026-11-01T23:30:00Z"}
        {"type":"track","event":"Feature Used","userId":"b","messageId":"b1","timestamp":"2026-11-02T00:30:00Z","properties":{"feature":"x"}}
        {"type":"page","name":"Home","userId":"a","messageId":"a1","timestamp":"2026-11-02T09:00:00Z"}
        {"type":"track","event":"Feature Used","userId":"a","messageId":"a2","timestamp":"2026-11-08T09:00:00Z","properties":{"feature":"x"}}
        {"type":"track","event":"Signed Up","userId":"d","messageId":"d0","timestamp":"2026-11-10T08:00:00Z"}
        {"type":"track","event":"Signed Up","userId":"e","messageId":"e0","timestamp":"2026-11-10T09:00:00Z"}
        {"type":"track","event":"Feature Used","userId":"e","messageId":"e1","timestamp":"2026-11-10T20:00:00Z","properties":{"feature":"x"}}
        {"type":"track","event":"Feature Used","userId":"d","messageId":"d1","timestamp":"2026-11-11T08:00:00Z","properties":{"feature":"x"}}
        {"type":"track","event":"Feature Used","userId":"f","messageId":"f0","timestamp":"2026-11-12T08:00:00Z","properties":{"feature":"x"}}
        {"type":"track","event":"Intervention Clicked","userId":"e","messageId":"e2","timestamp":"2026-11-14T08:00:00Z","properties":{"interventionId":"i-e","ruleId":"r"}}
        {"type":"track","event":"Feature Used","userId":"c","messageId":"c1","timestamp":"2026-11-15T12:00:00Z","properties":{"feature":"x"}}
        """;

    // Rule r: a and c treated (c deferred, then its follow-up emitted: one command), b and e in the global control group,
    // d in r's experiment holdout; b's suppressed match puts b nowhere. Rule s: a treated again on 11-08 (the program
    // keeps a's first treatment, 11-01).
    private const string Decisions = """
        {"userId":"a","ruleId":"r","ruleVersion":"1","outcome":"emitted","reason":null,"interventionId":"i-a","at":"2026-11-01T10:05:00Z"}
        {"userId":"c","ruleId":"r","ruleVersion":"1","outcome":"deferred","reason":"quiet_hours","interventionId":"i-c","at":"2026-11-01T12:05:00Z"}
        {"userId":"c","ruleId":"r","ruleVersion":"1","outcome":"emitted","reason":null,"interventionId":"i-c","at":"2026-11-02T07:00:00Z","followUp":true}
        {"userId":"b","ruleId":"r","ruleVersion":"1","outcome":"held_out","reason":"global_control","interventionId":"i-b","at":"2026-11-01T23:35:00Z","variant":"global_control"}
        {"userId":"b","ruleId":"r","ruleVersion":"1","outcome":"suppressed","reason":"cooldown","interventionId":"i-b2","at":"2026-11-02T00:31:00Z"}
        {"userId":"d","ruleId":"r","ruleVersion":"1","outcome":"held_out","reason":"holdout","interventionId":"i-d","at":"2026-11-10T08:05:00Z","variant":"holdout"}
        {"userId":"e","ruleId":"r","ruleVersion":"1","outcome":"held_out","reason":"global_control","interventionId":"i-e","at":"2026-11-10T09:05:00Z","variant":"global_control"}
        {"userId":"a","ruleId":"s","ruleVersion":"1","outcome":"emitted","reason":null,"interventionId":"i-a2","at":"2026-11-08T09:01:00Z"}
        """;

    private static RetentionReport Offline(string events, string? decisions)
    {
        var fold = new RetentionEvents(decisions is null ? [] : AuditLog.Read(decisions.Split('\n')).Decisions);
        fold.AddFile(Encoding.UTF8.GetBytes(events));
        Assert.Empty(fold.Rejected);
        return RetentionTables.Build(fold.Counters());
    }

    private static (long Retained, long Users)[] Cells(RetentionCurve? curve) => curve!.Cells.Select(c => (c.Retained, c.Users)).ToArray();

    [Fact]
    public void Build_HandMadeEvents_CohortCurvesAreTheHandComputedFractions()
    {
        var report = Offline(Events, null);

        Assert.Equal("2026-11-15", report.ObservedThrough);
        Assert.Equal([1, 3, 7, 14, 30], report.Days);
        Assert.Equal(["2026-11-01", "2026-11-10"], report.Cohorts.Select(c => c.Name));
        // Day N of a cohort is observable when sign-up day + N ≤ 11-15: 11-01 up to day 14; 11-10 up to day 3.
        Assert.Equal([(3L, 3L), (2, 3), (2, 3), (1, 3), (0, 0)], Cells(report.Cohorts[0]));
        Assert.Equal([(1L, 2L), (0, 2), (0, 0), (0, 0), (0, 0)], Cells(report.Cohorts[1]));
        Assert.Equal([(4L, 5L), (2, 5), (2, 3), (1, 3), (0, 0)], Cells(report.AllCohorts));
        Assert.Equal(5, report.AllCohorts!.Users);
        Assert.Equal(2.0 / 3, report.Cohorts[0].Cells[1].Rate!.Value, 12);
        Assert.Null(report.Cohorts[1].Cells[2].Rate); // not observable yet: no rate, not 0 %
    }

    [Fact]
    public void Build_EventsWithoutDecisions_NoArms()
    {
        Assert.Empty(Offline(Events, null).Arms);
    }

    [Fact]
    public void Build_HandMadeEventsAndDecisions_ArmsAreTheHandComputedFractions()
    {
        var report = Offline(Events, Decisions);

        Assert.Equal(["*", "r", "s"], report.Arms.Select(a => a.RuleId));
        var r = report.Arms.Single(a => a.RuleId == "r");
        // Treated a and c from 11-01: a active on 11-02 and 11-08 (not 14 days on), c on 11-15.
        Assert.Equal(2, r.Treated!.Users);
        Assert.Equal([(2L, 2L), (2, 2), (2, 2), (1, 2), (0, 0)], Cells(r.Treated));
        // Control b from 11-01 (active on 11-02) and e from 11-10 (only a click later: not activity).
        Assert.Equal([(1L, 2L), (0, 2), (0, 1), (0, 1), (0, 0)], Cells(r.GlobalControl));
        // Holdout d from 11-10, active on 11-11.
        Assert.Equal([(1L, 1L), (0, 1), (0, 0), (0, 0), (0, 0)], Cells(r.Holdout));
        Assert.Equal(ProportionTest.Compare(2, 2, 1, 2, "global_control"), r.VsGlobalControl[0]);
        Assert.Equal(ProportionTest.Compare(2, 2, 0, 2, "global_control"), r.VsGlobalControl[1]);
        Assert.Equal(ProportionTest.Compare(2, 2, 1, 1, "holdout"), r.VsHoldout[0]);
        Assert.Null(r.VsHoldout[2]); // the holdout's day 7 is not observable
        Assert.Equal(RateInterval.Of(1, 2), r.Treated.Cells[3].Rate);

        // The program: a's first treatment (rule r, 11-01) anchors it, not rule s's on 11-08.
        var program = report.Arms[0];
        Assert.Equal(Cells(r.Treated), Cells(program.Treated));
        Assert.Equal(Cells(r.GlobalControl), Cells(program.GlobalControl));
        // Rule s: a from 11-08, never active again (days 1, 3, 7 observable, through 11-15).
        var s = report.Arms.Single(a => a.RuleId == "s");
        Assert.Equal([(0L, 1L), (0, 1), (0, 1), (0, 0), (0, 0)], Cells(s.Treated));
        Assert.Null(s.GlobalControl);
        Assert.All(s.VsGlobalControl, Assert.Null);
    }

    [Fact]
    public void Build_DecisionsInAnyOrder_AnchorAtTheFirstTreatment()
    {
        var reversed = string.Join('\n', Decisions.Split('\n').Reverse());

        Assert.Equal(Json(Offline(Events, Decisions)), Json(Offline(Events, reversed)));
    }

    [Fact]
    public void Observe_SignUpTwiceAndRepeatedEvents_EachCountedOnce()
    {
        var repeated = string.Join('\n', Events.Split('\n').SelectMany(l => new[] { l, l }));

        Assert.Equal(Json(Offline(Events, Decisions)), Json(Offline(repeated, Decisions)));
    }

    [Fact]
    public void Counters_EngineOverTheExampleFile_SameAsTheEventsFold()
    {
        // The worker's counting runs in the engine (RuleEngine, through the batch pipeline simulate shares with it); the
        // events fold runs the same per-user steps over the file and the decisions the engine made.
        var events = File.ReadAllBytes(Example("retention.ndjson"));
        var simulation = new OfflineSimulation(RuleSetLoader.LoadFile(Example("retention.rules.yaml")));
        foreach (var line in NdjsonLines.Read(events))
        {
            Assert.True(simulation.Feed(line.Bytes, line.Number).IsValid);
        }
        simulation.AdvanceBy(TimeSpan.FromDays(7));
        var fold = new RetentionEvents(simulation.Decisions);
        fold.AddFile(events);

        var live = simulation.Counters[""];
        var offline = fold.Counters()[""];

        Assert.Contains(live.Keys, k => k.Contains("|entered.global_control:", StringComparison.Ordinal));
        Assert.Contains(live.Keys, k => k.Contains("|retained_d7.holdout:", StringComparison.Ordinal));
        Assert.Equal(offline.OrderBy(f => f.Key, StringComparer.Ordinal), live.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal(Json(RetentionTables.Build(fold.Counters())), Json(RetentionTables.Build(simulation.Counters)));
    }

    [Fact]
    public void Counters_CommittedExampleDecisions_SameAsTheEngineMakes()
    {
        // docs/examples/retention.decisions.ndjson is simulate's output over the example: the documented report is reproducible.
        var events = File.ReadAllBytes(Example("retention.ndjson"));
        var simulation = new OfflineSimulation(RuleSetLoader.LoadFile(Example("retention.rules.yaml")));
        foreach (var line in NdjsonLines.Read(events))
        {
            simulation.Feed(line.Bytes, line.Number);
        }
        simulation.AdvanceBy(TimeSpan.FromDays(7));
        var fold = new RetentionEvents(AuditLog.Read(File.ReadAllLines(Example("retention.decisions.ndjson"))).Decisions);
        fold.AddFile(events);

        Assert.Equal(simulation.Counters[""].OrderBy(f => f.Key, StringComparer.Ordinal), fold.Counters()[""].OrderBy(f => f.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Counters_ClickThenActivityOnANewDay_EngineAndFoldCountTheUserActiveOnce()
    {
        // A click is no activity, so it must not hide the activity after it on the same new day from either count.
        var simulation = new OfflineSimulation(RuleSetLoader.LoadFile(Example("retention.rules.yaml")));
        var lines = new List<string>();
        void Feed(string line)
        {
            lines.Add(line);
            Assert.True(simulation.Feed(line, lines.Count).IsValid);
        }
        for (var i = 0; i < 10; i++)
        {
            Feed($$"""{"type":"track","event":"Signed Up","userId":"u{{i}}","messageId":"s{{i}}","timestamp":"2026-11-01T10:00:0{{i}}Z"}""");
        }
        var sent = simulation.Interventions.First(c => c.RuleId == "welcome-tour");
        Feed($$$"""{"type":"track","event":"Intervention Clicked","userId":"{{{sent.UserId}}}","messageId":"c","timestamp":"2026-11-02T09:00:00Z","properties":{"interventionId":"{{{sent.InterventionId}}}","ruleId":"welcome-tour"}}""");
        Feed($$$"""{"type":"track","event":"Feature Used","userId":"{{{sent.UserId}}}","messageId":"f","timestamp":"2026-11-02T10:00:00Z","properties":{"feature":"x"}}""");
        simulation.AdvanceBy(TimeSpan.FromDays(1));
        var fold = new RetentionEvents(simulation.Decisions);
        fold.AddFile(Encoding.UTF8.GetBytes(string.Join('\n', lines)));

        var live = simulation.Counters[""];

        Assert.Equal(1, live["2026-11-02|active"]);
        Assert.Equal(1, live["2026-11-01|retained_d1.treated:welcome-tour"]);
        Assert.Single(simulation.Feedback);
        Assert.Equal(fold.Counters()[""].OrderBy(f => f.Key, StringComparer.Ordinal), live.OrderBy(f => f.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void DayNumber_BeforeTheEpoch_RoundsDown()
    {
        Assert.Equal(-1, RetentionCounting.DayNumber(-1));
        Assert.Equal(0, RetentionCounting.DayNumber(86_399_999));
        Assert.Equal("1969-12-31", RetentionCounting.DayName(-1));
    }

    private static string Example(string name) => Path.Combine(DocsLinksTests.Root, "docs", "examples", name);

    private static string Json(RetentionReport r) => JsonSerializer.Serialize(r);
}
