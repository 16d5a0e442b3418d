using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>The feedback loop and experiments, through the offline simulation.</summary>
public sealed class FeedbackTests
{
    private static readonly RuleSet Ping = RuleSetLoader.Load("""
        version: fb
        policies:
          dismissalPause: { after: 3, for: 7d }
          autoPause: { after: 3, for: 7d }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            conversion: { event: Order Completed, within: 24h }
        """);

    private static TimeSpan D(double d) => TimeSpan.FromDays(d);
    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);

    private static Scenario PingAndRespond(Scenario s, TimeSpan at, string? response)
    {
        s.Track("Ping", at);
        var sent = s.Of("ping").Last();
        if (response is not null)
        {
            s.Track(response, at + M(1), new { interventionId = sent.InterventionId, ruleId = "ping" });
        }
        return s;
    }

    [Fact]
    public void ThirdDismissal_PausesTheRuleForSevenDaysThenItResumes()
    {
        var s = new Scenario(Ping);
        for (var i = 0; i < 3; i++)
        {
            PingAndRespond(s, M(i * 10), "Intervention Dismissed");
        }

        s.Track("Ping", M(40));
        Assert.Equal(Reasons.DismissalPause, s.DecisionsOf("ping").Last().Reason);
        s.Track("Ping", D(7) + M(31));
        Assert.Equal(Outcomes.Emitted, s.DecisionsOf("ping").Last().Outcome);
    }

    [Fact]
    public void TwoDismissals_NearMiss_NoPause()
    {
        var s = new Scenario(Ping);
        PingAndRespond(s, M(0), "Intervention Dismissed");
        PingAndRespond(s, M(10), "Intervention Dismissed");

        s.Track("Ping", M(20));
        Assert.Equal(Outcomes.Emitted, s.DecisionsOf("ping").Last().Outcome);
    }

    [Fact]
    public void ThreeUnansweredInARow_AutoPausesTheUserThenResumes()
    {
        var s = new Scenario(Ping);
        for (var i = 0; i < 3; i++)
        {
            PingAndRespond(s, D(i * 2.5), response: null);
        }

        s.Track("Ping", D(7.5));
        Assert.Equal(Reasons.AutoPause, s.DecisionsOf("ping").Last().Reason);
        s.Track("Ping", D(10));
        Assert.Equal(Reasons.AutoPause, s.DecisionsOf("ping").Last().Reason);
        s.Track("Ping", D(14.6));
        Assert.Equal(Outcomes.Emitted, s.DecisionsOf("ping").Last().Outcome);
    }

    [Fact]
    public void AClickAmongThem_NearMiss_NoAutoPause()
    {
        var s = new Scenario(Ping);
        PingAndRespond(s, D(0), response: null);
        PingAndRespond(s, D(2.5), "Intervention Clicked");
        PingAndRespond(s, D(5), response: null);

        s.Track("Ping", D(7.5));
        Assert.Equal(Outcomes.Emitted, s.DecisionsOf("ping").Last().Outcome);
    }

    [Fact]
    public void FeedbackForAnUnknownIntervention_CountedAndIgnored()
    {
        var s = new Scenario(Ping);
        PingAndRespond(s, M(0), response: null);
        var before = s.Simulation.Users["u1"].Interventions!.Single().Status;

        s.Track("Intervention Dismissed", M(1), new { interventionId = "not-ours", ruleId = "ping" });

        Assert.Equal(before, s.Simulation.Users["u1"].Interventions!.Single().Status);
        Assert.Null(s.Simulation.Users["u1"].Dismissals);
    }

    private static readonly RuleSet Experiment = RuleSetLoader.Load("""
        rules:
          - id: offer
            trigger: { kind: event, event: Ping }
            action: { moment: conversion, channel: in_app, message: { body: control copy } }
            experiment:
              name: offer-copy
              holdout: 0.1
              variants:
                - { name: control, weight: 1 }
                - { name: bold, weight: 1, message: { body: bold copy } }
            conversion: { event: Order Completed, within: 24h }
        """);

    [Fact]
    public void Assign_100kUsers_SharesWithinTolerance()
    {
        var spec = Experiment.Rules[0].Experiment!;
        var counts = Enumerable.Range(0, 100_000).Select(i => ExperimentAssignment.Assign($"user-{i}", spec).Variant)
            .GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count() / 100_000.0);

        Assert.InRange(counts["holdout"], 0.095, 0.105);
        Assert.InRange(counts["control"], 0.445, 0.455);
        Assert.InRange(counts["bold"], 0.445, 0.455);
    }

    [Fact]
    public void Assign_SameUser_SameVariantEveryTime() =>
        Assert.Equal(ExperimentAssignment.Assign("u-42", Experiment.Rules[0].Experiment!), ExperimentAssignment.Assign("u-42", Experiment.Rules[0].Experiment!));

    [Fact]
    public void Experiment_VariantsStampedHeldOutGetGhostDecisionAndConversionsCountForBoth()
    {
        var s = new Scenario(Experiment);
        var users = Enumerable.Range(0, 200).Select(i => $"e{i}").ToList();
        foreach (var u in users)
        {
            s.Track("Ping", M(0), user: u).Track("Order Completed", M(30), user: u);
        }

        var heldOut = s.Simulation.Decisions.Where(d => d.Outcome == Outcomes.HeldOut).ToList();
        Assert.NotEmpty(heldOut);
        Assert.All(heldOut, d => Assert.Equal(Reasons.Holdout, d.Reason));
        Assert.All(heldOut, d => Assert.DoesNotContain(s.Simulation.Interventions, c => c.InterventionId == d.InterventionId));
        Assert.Equal(200 - heldOut.Count, s.Simulation.Interventions.Count);
        Assert.All(s.Simulation.Interventions, c => Assert.Equal(c.Variant == "bold" ? "bold copy" : "control copy", c.Message.Body));
        Assert.All(s.Simulation.Interventions, c => Assert.Equal("offer-copy", c.Experiment));
        Assert.All(s.Simulation.Users.Values, u => Assert.True(u.Interventions!.Single().Converted));
    }
}
