using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary><c>policies.globalControl</c>: a stable share of users held out of every rule, their ghosts counted, the uplift reported.</summary>
public sealed class GlobalControlTests
{
    private static RuleSet Rules(string share, string version = "v1", string experiment = "") => RuleSetLoader.Load($$"""
        version: {{version}}
        policies:
          globalControl: {{share}}
          caps: [ { max: 5, per: 1h } ]
        rules:
          - id: offer
            trigger: { kind: event, event: Ping }
            action: { moment: conversion, channel: in_app, message: { body: x } }
            conversion: { event: Order Completed, within: 24h }
            {{experiment}}
          - id: tip
            trigger: { kind: event, event: Pong }
            action: { moment: education, channel: push, message: { body: y } }
        """);

    [Fact]
    public void Point_SameUser_SameValueEveryRunAndMachine() =>
        // A fixed value: the group must not move between runs, versions of the code or instances.
        Assert.Equal(0.0511, GlobalControl.Point("u-42"), 4);

    [Fact]
    public void Contains_ShareJustAboveOrAtTheUsersPoint_InOrOut()
    {
        var point = GlobalControl.Point("u-42");

        Assert.True(GlobalControl.Contains("u-42", point + 1e-9));
        Assert.False(GlobalControl.Contains("u-42", point));
        Assert.False(GlobalControl.Contains("u-42", 0));
    }

    [Fact]
    public void Contains_100kUsers_ShareWithinTolerance()
    {
        var share = Enumerable.Range(0, 100_000).Count(i => GlobalControl.Contains($"user-{i}", 0.05)) / 100_000.0;

        Assert.InRange(share, 0.047, 0.053);
    }

    [Fact]
    public void Simulate_ControlUser_HeldOutOfEveryRuleAcrossRuleVersionsAndExperiments()
    {
        var user = Enumerable.Range(0, 1000).Select(i => $"g{i}").First(u => GlobalControl.Point(u) < 0.05);
        foreach (var rules in new[] { Rules("0.05"), Rules("0.05", version: "v2"), Rules("0.05", experiment: "experiment: { name: e, holdout: 0.5, variants: [ { name: control } ] }") })
        {
            var s = new Scenario(rules).Track("Ping", TimeSpan.Zero, user: user).Track("Pong", TimeSpan.FromMinutes(1), user: user);

            Assert.Empty(s.Simulation.Interventions);
            Assert.Equal(2, s.Simulation.Decisions.Count);
            Assert.All(s.Simulation.Decisions, d => Assert.Equal((Outcomes.HeldOut, Reasons.GlobalControl), (d.Outcome, d.Reason)));
            Assert.All(s.Simulation.Users[user].Interventions!, r => Assert.Equal((true, GlobalControl.Variant), (r.Ghost, r.Variant)));
        }
    }

    [Fact]
    public void Simulate_UserJustOutsideTheShare_Treated()
    {
        var user = Enumerable.Range(0, 1000).Select(i => $"g{i}").First(u => GlobalControl.Point(u) < 0.05);
        var share = GlobalControl.Point(user).ToString("R", System.Globalization.CultureInfo.InvariantCulture);

        var s = new Scenario(Rules(share)).Track("Ping", TimeSpan.Zero, user: user);

        Assert.Equal(Outcomes.Emitted, Assert.Single(s.Simulation.Decisions).Outcome);
    }

    [Fact]
    public void Simulate_ControlUsersGhosts_CappedLikeSends()
    {
        var user = Enumerable.Range(0, 1000).Select(i => $"g{i}").First(u => GlobalControl.Point(u) < 0.05);
        var s = new Scenario(Rules("0.05"));
        for (var i = 0; i < 7; i++)
        {
            s.Track("Ping", TimeSpan.FromMinutes(i), user: user);
        }

        // Placed as a treated user's commands are: the two over the cap go to the next hour, counted there.
        Assert.Equal(7, s.Simulation.Decisions.Count(d => d.Reason == Reasons.GlobalControl));
        Assert.Equal(2, s.Simulation.Decisions.Count(d => d.Blocked == Reasons.HourlyCap));
        Assert.Equal(7, s.Simulation.Users[user].Sent!.Count);
        Assert.Equal(2, s.Simulation.Users[user].Sent!.Count(x => x.At >= (Scenario.T0 + TimeSpan.FromHours(1)).ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void Report_ControlGroupConvertsLess_OverallUpliftWithIntervalAndPValue()
    {
        var s = new Scenario(Rules("0.3"));
        for (var i = 0; i < 2000; i++)
        {
            var u = $"c{i}";
            s.Track("Ping", TimeSpan.Zero, user: u);
            // Treated users convert one in two, control users one in five.
            if (i % (GlobalControl.Contains(u, 0.3) ? 5 : 2) == 0)
            {
                s.Track("Order Completed", TimeSpan.FromMinutes(30), user: u);
            }
        }

        var report = ResponseReport.Build(s.Simulation.Counters);

        var overall = report.Overall!;
        Assert.Equal(2000, overall.Sent + overall.Ghosts);
        Assert.InRange(overall.Ghosts, 540, 660);
        Assert.InRange(overall.TreatedRate!.Value, 0.45, 0.55);
        Assert.InRange(overall.ControlRate!.Value, 0.15, 0.25);
        Assert.True(overall.Uplift!.Low > 0.2 && overall.Uplift.High < 0.4, $"{overall.Uplift}");
        Assert.True(overall.Uplift.PValue < 0.001);
        var control = report.Variants.Single(v => v.Counts.Variant == GlobalControl.Variant);
        Assert.Equal(overall.Ghosts, control.Counts.Treated);
    }

    [Fact]
    public void Report_NoControlGroup_NoOverallUplift()
    {
        var s = new Scenario(Rules("0")).Track("Ping", TimeSpan.Zero);

        Assert.Null(ResponseReport.Build(s.Simulation.Counters).Overall);
    }

    [Fact]
    public void Loader_VariantNamedGlobalControl_Refused()
    {
        var ex = Assert.Throws<RuleSetException>(() => Rules("0", experiment: "experiment: { name: e, variants: [ { name: global_control } ] }"));

        Assert.Contains(ex.Errors, e => e.Message.Contains("is reserved", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-0.1")]
    [InlineData("half")]
    public void Loader_ShareOutsideZeroToOne_Refused(string share) =>
        Assert.Throws<RuleSetException>(() => Rules(share));
}
