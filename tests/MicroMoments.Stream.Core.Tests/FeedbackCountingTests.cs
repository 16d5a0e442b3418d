using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Feedback counts once per (intervention, type), and feedback naming an intervention the user was never sent is foreign:
/// it arms no follow-up, stops no escalation and pauses no rule (docs/guarantees.md, "Feedback counting").
/// </summary>
public sealed class FeedbackCountingTests
{
    private const string NeverSent = "00000000-0000-0000-0000-000000000000";

    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        version: fc
        policies:
          dismissalPause: { after: 3, for: 7d }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
          - id: ping-escalation
            trigger: { kind: escalation, rule: ping, after: 48h }
            action: { moment: reward, channel: email, message: { body: pong by email } }
          - id: thanks
            trigger: { kind: event, event: Intervention Clicked, where: { ruleId: ping } }
            action: { moment: reward, channel: toast, message: { body: thanks } }
          - id: other
            trigger: { kind: event, event: Other }
            action: { moment: reward, channel: toast, message: { body: other } }
        """);

    private readonly RuleEngine _engine = new(Rules);
    private readonly UserState _state = new() { UserId = "u1" };
    private DateTimeOffset _at = T0;

    private Evaluation Apply(string name, object? properties = null)
    {
        _at += TimeSpan.FromMinutes(1);
        return _engine.Apply(_state, Track("u1", name, _at, properties), Next(), _at);
    }

    private InterventionCommand Send(string trigger = "Ping") => Assert.Single(Apply(trigger).Interventions);

    private static object About(InterventionCommand c) => new { interventionId = c.InterventionId, ruleId = c.RuleId };

    private static long Count(IEnumerable<Evaluation> results, string metric) => results.SelectMany(r => r.Stats).Count(s => s.Metric == metric);

    [Fact]
    public void Apply_OneInterventionClickedFourTimes_CountsOneClick()
    {
        var sent = Send();
        var results = new List<Evaluation> { Apply("Intervention Delivered", About(sent)) };

        for (var i = 0; i < 4; i++)
        {
            results.Add(Apply("Intervention Clicked", About(sent)));
        }

        Assert.Equal((1, 1), (Count(results, "delivered"), Count(results, "clicked")));
        Assert.Equal(3, results.Sum(r => r.RepeatedFeedback));
        Assert.Equal(["delivered", "clicked"], results.SelectMany(r => r.Feedback).Select(f => f.Feedback));
        Assert.All(results, r => Assert.Equal(0, r.ForeignFeedback));
    }

    [Fact]
    public void Apply_DisplayedReportAfterAClick_KeepsTheClickAsTheResponse()
    {
        var sent = Send();
        Apply("Intervention Clicked", About(sent));

        Apply("Intervention Displayed", About(sent));

        var record = Assert.Single(_state.Interventions!, r => r.Id == sent.InterventionId);
        Assert.Equal("clicked", record.Status);
        // Only the follow-up the click sent is unanswered; the clicked intervention ends the run (it made 2 before).
        Assert.Equal(1, PolicyGate.UnansweredInARow(_state, (_at + TimeSpan.FromDays(3)).ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void Apply_RepeatedDeliveryReport_CountsOneDelivery()
    {
        var sent = Send();

        var results = Enumerable.Range(0, 3).Select(_ => Apply("Intervention Delivered", About(sent))).ToList();

        Assert.Equal(1, Count(results, "delivered"));
    }

    [Fact]
    public void Apply_DoubleTap_FiresTheFollowUpOnce()
    {
        var sent = Send();

        var first = Apply("Intervention Clicked", About(sent));
        var second = Apply("Intervention Clicked", About(sent));

        Assert.Equal("thanks", Assert.Single(first.Interventions).RuleId);
        Assert.Empty(second.Interventions);
        Assert.Empty(second.Decisions);
    }

    [Fact]
    public void Apply_OneInterventionDismissedThreeTimes_DoesNotPauseTheRule()
    {
        var sent = Send();

        for (var i = 0; i < 3; i++)
        {
            Apply("Intervention Dismissed", About(sent));
        }

        Assert.Equal(Outcomes.Emitted, Assert.Single(Apply("Ping").Decisions).Outcome);
        Assert.Equal(1, _state.Dismissals!["ping"]);
    }

    [Fact]
    public void Apply_ThreeInterventionsDismissedOnceEach_PausesTheRule()
    {
        for (var i = 0; i < 3; i++)
        {
            Apply("Intervention Dismissed", About(Send()));
        }

        Assert.Equal(Reasons.DismissalPause, Assert.Single(Apply("Ping").Decisions).Reason);
    }

    [Fact]
    public void Apply_ClickNamingAnInterventionNeverSent_IsForeignAndFiresNoFollowUp()
    {
        Send();

        var result = Apply("Intervention Clicked", new { interventionId = NeverSent, ruleId = "ping" });

        Assert.Equal(1, result.ForeignFeedback);
        Assert.Empty(result.Interventions);
        Assert.Empty(result.Stats);
    }

    [Fact]
    public void Apply_ClickNamingAnotherRulesIntervention_IsForeignAndStopsNoEscalation()
    {
        var ping = Send();
        var other = Send("Other");

        var result = Apply("Intervention Clicked", new { interventionId = other.InterventionId, ruleId = "ping" });
        var fired = _engine.FireDue(_state, _at + TimeSpan.FromHours(48));

        Assert.Equal(1, result.ForeignFeedback);
        Assert.Empty(result.Interventions);
        Assert.Equal(ping.InterventionId, (string)Assert.Single(fired.Interventions, c => c.RuleId == "ping-escalation").Trigger.Details["interventionId"]);
    }

    [Fact]
    public void Apply_DismissalsNamingInterventionsNeverSent_PauseNothing()
    {
        Send();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(1, Apply("Intervention Dismissed", new { interventionId = $"{NeverSent[..^1]}{i}", ruleId = "ping" }).ForeignFeedback);
        }

        Assert.Equal(Outcomes.Emitted, Assert.Single(Apply("Ping").Decisions).Outcome);
        Assert.Null(_state.Dismissals);
    }

    [Fact]
    public void Apply_GenuineClick_StopsTheEscalationAndFollowsUp()
    {
        var sent = Send();

        var result = Apply("Intervention Clicked", About(sent));

        Assert.Equal("thanks", Assert.Single(result.Interventions).RuleId);
        Assert.DoesNotContain(_engine.FireDue(_state, _at + TimeSpan.FromHours(48)).Interventions, c => c.RuleId == "ping-escalation");
    }

    [Fact]
    public void Apply_ClickNamingOnlyARuleTheUserWasSent_StopsItsEscalationAndFollowsUpUncounted()
    {
        Send();

        var result = Apply("Intervention Clicked", new { ruleId = "ping" });

        Assert.Equal("thanks", Assert.Single(result.Interventions).RuleId);
        Assert.DoesNotContain(result.Stats, s => s.Metric == "clicked");
        Assert.Equal(0, result.ForeignFeedback);
        Assert.DoesNotContain(_engine.FireDue(_state, _at + TimeSpan.FromHours(48)).Interventions, c => c.RuleId == "ping-escalation");
    }

    [Fact]
    public void Apply_ClickNamingOnlyARuleNeverSent_IsForeignAndFiresNoFollowUp()
    {
        Send("Other");

        var result = Apply("Intervention Clicked", new { ruleId = "ping" });

        Assert.Equal(1, result.ForeignFeedback);
        Assert.Empty(result.Interventions);
    }

    [Fact]
    public void Apply_ClickOnTheSixteenthLatestIntervention_Counts()
    {
        var sent = Enumerable.Range(0, 16).Select(_ => Send()).ToList();

        var result = Apply("Intervention Clicked", About(sent[0]));

        Assert.Equal(0, result.ForeignFeedback);
        Assert.Contains(result.Stats, s => s.Metric == "clicked");
    }

    [Fact]
    public void Apply_ClickOnAnInterventionNoLongerRemembered_IsForeign()
    {
        var sent = Enumerable.Range(0, 17).Select(_ => Send()).ToList();

        var result = Apply("Intervention Clicked", About(sent[0]));

        Assert.Equal(1, result.ForeignFeedback);
        Assert.Empty(result.Interventions);
    }

    [Fact]
    public void Apply_ForgedClickOnTheShortcutGuide_SendsNoNextShortcut()
    {
        var s = new Scenario().Track("Task Completed", TimeSpan.FromMinutes(0), new { task = "t", durationMs = 10000 })
            .Track("Task Completed", TimeSpan.FromMinutes(5), new { task = "t", durationMs = 5000 });
        Assert.Single(s.Of("faster-than-usual"));

        s.Track("Intervention Clicked", TimeSpan.FromMinutes(6), new { interventionId = NeverSent, ruleId = "faster-than-usual" });
        s.Track("Intervention Clicked", TimeSpan.FromMinutes(7), new { interventionId = NeverSent, ruleId = "faster-than-usual" }, user: "stranger");

        Assert.Empty(s.Of("next-shortcut"));
        Assert.DoesNotContain(s.Simulation.Counters.GetValueOrDefault("faster-than-usual") ?? [], c => c.Key.EndsWith("|clicked", StringComparison.Ordinal));
    }

    [Fact]
    public void Apply_StateWrittenBeforeTheCountedFlags_TakesItsStatusAsCounted()
    {
        var sent = Send();
        Apply("Intervention Clicked", About(sent));
        var record = Assert.Single(_state.Interventions!, r => r.RuleId == "ping");
        record.Counted = FeedbackKinds.None; // as an earlier version kept it: the latest status only
        var old = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(_state));

        var again = _engine.Apply(old, Track("u1", "Intervention Clicked", _at + TimeSpan.FromMinutes(1), About(sent)), Next(), _at + TimeSpan.FromMinutes(1));

        Assert.Equal("clicked", Assert.Single(old.Interventions!, r => r.RuleId == "ping").Status);
        Assert.DoesNotContain(again.Stats, s => s.Metric == "clicked");
    }

    [Fact]
    public void Serialize_CountedFeedback_RoundTripsInBothForms()
    {
        var state = new UserState
        {
            UserId = "u1",
            LastEventAt = 1_795_000_000_000,
            Interventions = [new InterventionRecord { Id = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b", RuleId = "ping", At = 1_795_000_000_000, Status = "dismissed",
                Counted = FeedbackKinds.Delivered | FeedbackKinds.Clicked | FeedbackKinds.Dismissed }],
        };

        var binary = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));
        var json = UserStateSerializer.Deserialize(UserStateSerializer.ToJson(state));

        Assert.Equal(state.Interventions[0].Counted, binary.Interventions![0].Counted);
        Assert.Equal(state.Interventions[0].Counted, json.Interventions![0].Counted);
        Assert.Equal(UserStateSerializer.ToJson(state), UserStateSerializer.ToJson(binary));
    }

    [Fact]
    public void Deserialize_JsonWrittenBeforeTheCountedFlags_ReadsNoneCountedButTheStatus()
    {
        var state = UserStateSerializer.Deserialize("""{"u":"a","wm":{},"iv":[{"id":"x","r":"ping","t":1,"s":"clicked"}]}"""u8);

        var record = Assert.Single(state.Interventions!);
        Assert.Equal(FeedbackKinds.None, record.Counted);
        Assert.True(record.HasCounted(FeedbackKinds.Clicked));
        Assert.False(record.HasCounted(FeedbackKinds.Delivered));
    }

    [Fact]
    public void Build_DecisionsFileWithOneInterventionClickedFourTimes_CountsItOnce()
    {
        // The report of issue 18: three delivered, one of them clicked four times read 133 %.
        var lines = new List<string>();
        foreach (var id in new[] { "a", "b", "c" })
        {
            lines.Add($$"""{"userId":"u1","ruleId":"ping","ruleVersion":"fc","outcome":"emitted","reason":null,"interventionId":"{{id}}","at":"2026-11-24T10:00:00Z"}""");
            lines.Add($$"""{"userId":"u1","ruleId":"ping","variant":"control","feedback":"delivered","interventionId":"{{id}}","at":"2026-11-24T10:01:00Z"}""");
        }
        for (var i = 0; i < 4; i++)
        {
            lines.Add($$"""{"userId":"u1","ruleId":"ping","variant":"control","feedback":"clicked","interventionId":"a","at":"2026-11-24T10:0{{i + 2}}:00Z"}""");
        }

        var report = ResponseReport.Build(AuditLog.Read(lines).Counters());

        var ping = Assert.Single(report.Variants);
        Assert.Equal((3, 1), (ping.Counts.Delivered, ping.Counts.Clicked));
        Assert.Equal(1.0 / 3, ping.ClickThrough!.Value, 6);
    }
}
