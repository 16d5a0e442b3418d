using System.Text.Json;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary><c>simulate --compare</c> and <c>report --decisions</c>: the back-test and the offline report, over the offline simulation.</summary>
public sealed class BackTestTests
{
    private static RuleSet Rules(int capPerHour, string extraRule = "") => RuleSetLoader.Load($$"""
        version: cap-{{capPerHour}}
        policies:
          caps: [ { max: {{capPerHour}}, per: 1h } ]
          dismissalPause: { after: 2, for: 7d }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            experiment: { name: ping-copy, holdout: 0.2, variants: [ { name: control }, { name: bold, message: { body: PONG } } ] }
            conversion: { event: Order Completed, within: 24h }
            policy: { onBlocked: drop }
        {{extraRule}}
        """);

    /// <summary>Each user pings three times a few minutes apart and responds to what they were sent.</summary>
    private static Scenario Run(RuleSet rules, int users = 60)
    {
        var s = new Scenario(rules);
        for (var u = 0; u < users; u++)
        {
            var user = $"u{u:00}";
            for (var i = 0; i < 3; i++)
            {
                var at = TimeSpan.FromMinutes(u * 60 + i * 5);
                var before = s.Simulation.Interventions.Count;
                s.Track("Ping", at, user: user);
                if (s.Simulation.Interventions.Count == before)
                {
                    continue;
                }
                var id = s.Simulation.Interventions[^1].InterventionId;
                var p = new { interventionId = id, ruleId = "ping" };
                s.Track("Intervention Delivered", at + TimeSpan.FromSeconds(1), p, user: user);
                if ((u + i) % 3 == 0)
                {
                    s.Track("Intervention Clicked", at + TimeSpan.FromSeconds(2), p, user: user);
                }
                else
                {
                    s.Track("Intervention Dismissed", at + TimeSpan.FromSeconds(2), p, user: user);
                }
            }
            if (u % 4 == 0)
            {
                s.Track("Order Completed", TimeSpan.FromMinutes(u * 60 + 20), user: user);
            }
        }
        return s;
    }

    private static BackTestResult Compare(RuleSet a, RuleSet b) =>
        BackTest.Compare(a.Rules.Select(r => r.Id).ToList(), Run(a).Simulation.Decisions, b.Rules.Select(r => r.Id).ToList(), Run(b).Simulation.Decisions);

    private static MetricDelta Metric(BackTestResult r, string rule, string metric) =>
        r.Rules.Single(x => x.RuleId == rule).Metrics.Single(m => m.Metric == metric);

    [Fact]
    public void Compare_CapTightenedInB_FewerEmittedMoreCappedAndChangedUsersListed()
    {
        var result = Compare(Rules(capPerHour: 3), Rules(capPerHour: 1));

        var emitted = Metric(result, "ping", "emitted");
        var capped = Metric(result, "ping", "suppressed: hourly_cap");
        Assert.True(emitted.Difference < 0, $"emitted {emitted.A} → {emitted.B}");
        Assert.Equal(0, capped.A);
        Assert.True(capped.Difference >= -emitted.Difference, $"capped {capped.A} → {capped.B}"); // and what a's dismissal pauses stopped
        Assert.Equal(0, Metric(result, "ping", "matched").Difference);
        var reasons = result.Rules.Single(r => r.RuleId == "ping").Metrics.Where(m => m.Metric.StartsWith("suppressed: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(reasons.Sum(m => m.B), Metric(result, "ping", "suppressed").B); // the total over its reasons
        Assert.True(result.ChangedUserCount > 20);
        Assert.Equal(20, result.ChangedUsers.Count);
        var first = result.ChangedUsers[0];
        Assert.Equal(("ping", Outcomes.Emitted, (string?)null), (first.Before!.RuleId, first.Before.Outcome, first.Before.Reason));
        Assert.Equal(("ping", Outcomes.Suppressed, Reasons.HourlyCap), (first.After!.RuleId, first.After.Outcome, first.After.Reason));
        Assert.Equal(result.ChangedUsers.OrderBy(c => c.Before!.At).ThenBy(c => c.UserId, StringComparer.Ordinal), result.ChangedUsers);
    }

    [Fact]
    public void Compare_IdenticalRules_AllDeltasZeroAndNoChangedUsers()
    {
        var result = Compare(Rules(2), Rules(2));

        Assert.All(result.Rules.SelectMany(r => r.Metrics), m => Assert.Equal(0, m.Difference));
        Assert.True(Metric(result, "ping", "matched").A > 0);
        Assert.Equal(0, result.ChangedUserCount);
        Assert.Empty(result.ChangedUsers);
    }

    [Fact]
    public void Compare_RuleOnlyInOneFile_ShownAsAddedOrRemoved()
    {
        var extra = """
              - id: pong
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: in_app, priority: 10, message: { body: pong } }
            """;

        var added = Compare(Rules(2), Rules(2, extra));
        var removed = Compare(Rules(2, extra), Rules(2));

        Assert.Equal("added", added.Rules.Single(r => r.RuleId == "pong").Presence);
        Assert.Equal(0, Metric(added, "pong", "matched").A);
        Assert.True(Metric(added, "pong", "matched").B > 0);
        Assert.Equal("removed", removed.Rules.Single(r => r.RuleId == "pong").Presence);
        Assert.Equal("both", added.Rules.Single(r => r.RuleId == "ping").Presence);
    }

    private static readonly TriggerInfo NoTrigger = new("event", [], new Dictionary<string, object>());

    private static Decision D(string outcome, string? reason, string id = "id", int minute = 0, bool followUp = false) =>
        new("u", "r", "v", outcome, reason, id, T0.AddMinutes(minute), NoTrigger) { FollowUp = followUp };

    [Fact]
    public void Compare_UnknownOutcome_ShownAsARowOfItsOwn()
    {
        var result = BackTest.Compare(["r"], [D(Outcomes.Emitted, null)], ["r"], [D(Outcomes.Emitted, null), D("nudged_twice", null, id: "id-2")]);

        Assert.Equal((0, 1), (Metric(result, "r", "nudged_twice").A, Metric(result, "r", "nudged_twice").B));
        Assert.Equal(1, Metric(result, "r", "matched").Difference);
        var changed = Assert.Single(result.ChangedUsers);
        Assert.Null(changed.Before);
        Assert.Equal("nudged_twice", changed.After!.Outcome);
    }

    [Fact]
    public void Compare_CancelledInBOnly_CancelledRowAndTheUserShownEmittedThenCancelled()
    {
        var cancelled = D(Outcomes.Cancelled, CancelReasons.CancelOn("order completed"), minute: 1);

        var result = BackTest.Compare(["r"], [D(Outcomes.Emitted, null)], ["r"], [D(Outcomes.Emitted, null), cancelled, D(Outcomes.HeldOut, Reasons.GlobalControl, id: "id-2", minute: 2)]);

        Assert.Equal((0, 1), (Metric(result, "r", "cancelled").A, Metric(result, "r", "cancelled").B));
        Assert.Equal(1, Metric(result, "r", "matched").Difference); // the held-out match, not the cancellation
        var changed = Assert.Single(result.ChangedUsers);
        Assert.Equal((Outcomes.Emitted, Outcomes.Emitted), (changed.Before!.FinalOutcome, changed.After!.Outcome));
        Assert.Empty(changed.Before.Then);
        Assert.Equal([new DecisionStep(Outcomes.Cancelled, "cancel_on:order completed", T0.AddMinutes(1))], changed.After.Then);
        Assert.Equal((Outcomes.Cancelled, "cancel_on:order completed"), (changed.After.FinalOutcome, changed.After.FinalReason));
    }

    [Fact]
    public void Compare_NoCancellationAnywhere_CancelledRowShownAsZero()
    {
        var result = BackTest.Compare(["r"], [D(Outcomes.Emitted, null)], ["r"], [D(Outcomes.Emitted, null)]);

        Assert.Equal((0, 0), (Metric(result, "r", "cancelled").A, Metric(result, "r", "cancelled").B));
        Assert.Empty(result.ChangedUsers);
    }

    [Fact]
    public void Compare_DeferredThenExpiredInAThenSentInB_TheUserShownWithEachFinalState()
    {
        var a = new[] { D(Outcomes.Deferred, Reasons.QuietHours), D(Outcomes.Suppressed, Reasons.Expired, minute: 60, followUp: true) };
        var b = new[] { D(Outcomes.Deferred, Reasons.QuietHours), D(Outcomes.Emitted, null, minute: 30, followUp: true) };

        var result = BackTest.Compare(["r"], a, ["r"], b);

        var changed = Assert.Single(result.ChangedUsers);
        Assert.Equal((Outcomes.Deferred, Outcomes.Deferred), (changed.Before!.Outcome, changed.After!.Outcome));
        Assert.Equal((Outcomes.Suppressed, Reasons.Expired), (changed.Before.FinalOutcome, changed.Before.FinalReason));
        Assert.Equal(Outcomes.Emitted, changed.After.FinalOutcome);
        Assert.Equal(T0, changed.Before.At); // listed at the match, not at its end
        Assert.Equal(0, Metric(result, "r", "matched").Difference); // a follow-up is not a match
    }

    [Fact]
    public void Compare_SameDeferralSameEnd_NoChangedUser()
    {
        var run = new[] { D(Outcomes.Deferred, Reasons.QuietHours), D(Outcomes.Suppressed, Reasons.Superseded, minute: 5, followUp: true) };

        var result = BackTest.Compare(["r"], run, ["r"], run);

        Assert.Equal(0, result.ChangedUserCount);
    }

    [Fact]
    public void Compare_FollowUpWithoutItsMatch_StandsAsADecisionOfItsOwn()
    {
        var result = BackTest.Compare(["r"], [], ["r"], [D(Outcomes.Suppressed, Reasons.Expired, followUp: true)]);

        var changed = Assert.Single(result.ChangedUsers);
        Assert.Equal((Outcomes.Suppressed, Reasons.Expired), (changed.After!.Outcome, changed.After.Reason));
        Assert.Empty(changed.After.Then);
    }

    [Fact]
    public void AuditCounters_DecisionsAndFeedbackOfARun_AreTheCountersTheWorkerKeeps()
    {
        var s = Run(Rules(2));
        var sim = s.Simulation;

        var folded = AuditCounters.From(sim.Decisions, sim.Feedback);

        var live = sim.Counters.Where(c => c.Key.Length > 0).ToDictionary(c => c.Key, c => c.Value); // "" = sign-up cohorts, not decisions
        Assert.Equal(Json(live), Json(folded));
        var fields = folded["ping"];
        Assert.True(fields.GetValueOrDefault("bold|clicked") > 0 && fields.GetValueOrDefault("control|dismissed") > 0);
        Assert.True(fields.GetValueOrDefault("holdout|converted") > 0 && fields.GetValueOrDefault("control|suppressed.dismissal_pause") > 0);
    }

    [Fact]
    public void AuditLog_LinesAsSimulateWritesThem_ReportEqualsTheLiveReport()
    {
        var sim = Run(Rules(2)).Simulation;
        var lines = sim.Decisions.Select(d => JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions))
            .Concat(sim.Feedback.Select(f => JsonSerializer.Serialize(f, InterventionCloudEvents.DataOptions)))
            .Append("").Append("{not json").Append("""{"userId":"u","ruleId":"r"}""");

        var log = AuditLog.Read(lines);

        Assert.Equal([sim.Decisions.Count + sim.Feedback.Count + 2, sim.Decisions.Count + sim.Feedback.Count + 3], log.Rejected.Select(r => r.Line));
        Assert.Equal(sim.Decisions.Select(d => (d.UserId, d.RuleId, d.Outcome, d.Reason, d.Variant, d.InterventionId, d.At)),
            log.Decisions.Select(d => (d.UserId, d.RuleId, d.Outcome, d.Reason, d.Variant, d.InterventionId, d.At)));
        Assert.Equal(sim.Feedback, log.Feedback);
        var live = ResponseReport.Build(sim.Counters.Where(c => c.Key.Length > 0).ToDictionary(c => c.Key, c => c.Value));
        var offline = ResponseReport.Build(log.Counters());
        Assert.Equal(Json(live), Json(offline));
        Assert.Contains(offline.Variants, v => v.Counts.Variant == "bold" && v.ClickThrough > 0 && v.ClickThroughVsControl is not null);
    }

    [Fact]
    public void Decisions_RuleWithAnExperiment_CarryTheVariant_OthersNone()
    {
        var extra = """
              - id: plain
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: in_app, priority: 10, message: { body: x } }
            """;
        var sim = Run(Rules(3, extra), users: 10).Simulation;

        Assert.All(sim.Decisions.Where(d => d.RuleId == "ping"), d => Assert.Contains(d.Variant, new[] { "control", "bold", "holdout" }));
        Assert.All(sim.Decisions.Where(d => d.RuleId == "plain"), d => Assert.Null(d.Variant));
        Assert.DoesNotContain("variant", DecisionJson.Serialize(sim.Decisions.First(d => d.RuleId == "plain")), StringComparison.Ordinal);
    }

    /// <summary>JSON with every object's keys sorted: counters are dictionaries, filled in a different order by each path.</summary>
    private static string Json(object o) => Sorted(JsonSerializer.SerializeToNode(o))?.ToJsonString() ?? "null";

    private static System.Text.Json.Nodes.JsonNode? Sorted(System.Text.Json.Nodes.JsonNode? n) => n switch
    {
        System.Text.Json.Nodes.JsonObject o => new System.Text.Json.Nodes.JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        System.Text.Json.Nodes.JsonArray a => new System.Text.Json.Nodes.JsonArray(a.Select(Sorted).ToArray()),
        _ => n?.DeepClone(),
    };
}
