using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

public sealed class ReportTests
{
    [Fact]
    public void Compare_WorkedExample_MatchesHandComputation()
    {
        // 120 of 1000 vs 90 of 1000: pooled p = 0.105, SE = 0.013710, z = 2.1882, p = 0.0287;
        // unpooled SE = 0.013693, 95 % interval 0.03 ± 1.95996 × 0.013693 = [0.00316, 0.05684].
        var c = ProportionTest.Compare(120, 1000, 90, 1000, "control")!;

        Assert.Equal(0.03, c.Difference, 6);
        Assert.Equal(0.0287, c.PValue, 3);
        Assert.Equal(0.00316, c.Low, 4);
        Assert.Equal(0.05684, c.High, 4);
    }

    [Fact]
    public void Compare_NoTrials_IsNull() => Assert.Null(ProportionTest.Compare(0, 0, 1, 10, "control"));

    [Fact]
    public void Build_FromASimulatedExperiment_RatesComparisonsTriggersAndCohorts()
    {
        var rules = RuleSetLoader.Load("""
            rules:
              - id: offer
                trigger: { kind: event, event: Ping }
                action: { moment: conversion, channel: in_app, message: { body: x } }
                experiment: { name: offer-copy, holdout: 0.2, variants: [ { name: control }, { name: bold } ] }
                conversion: { event: Order Completed, within: 24h }
            """);
        var s = new Scenario(rules);
        for (var i = 0; i < 300; i++)
        {
            var u = $"r{i}";
            s.Track("Signed Up", TimeSpan.Zero, user: u).Track("Ping", TimeSpan.FromMinutes(1), user: u);
            if (i % 3 == 0)
            {
                s.Track("Order Completed", TimeSpan.FromMinutes(30), user: u);
            }
            if (i % 2 == 0)
            {
                s.Track("Feature Used", TimeSpan.FromDays(2), new { feature = "x" }, user: u);
            }
        }

        var report = ResponseReport.Build(s.Simulation.Counters);

        Assert.Equal(["control", "bold", "holdout"], report.Variants.Select(v => v.Counts.Variant));
        Assert.Equal(300, report.Variants.Sum(v => v.Counts.Treated));
        Assert.All(report.Variants, v => Assert.InRange(v.ConversionRate!.Value, 0.2, 0.5));
        Assert.NotNull(report.Variants.Single(v => v.Counts.Variant == "bold").ConversionVsControl);
        Assert.NotNull(report.Variants.Single(v => v.Counts.Variant == "control").ConversionVsHoldout);
        Assert.Equal(300, Assert.Single(report.Triggers).Matched);
        // Half the users active again two days after signing up, where the data ends: day 1 observable, day 3 not yet.
        var cohort = Assert.Single(report.Retention.Cohorts);
        Assert.Equal((300L, 150L, 300L, 0.5), (cohort.Users, cohort.Cells[0].Retained, cohort.Cells[0].Users, cohort.Cells[0].Rate!.Value));
        Assert.Null(cohort.Cells[1].Rate);
    }
}
