using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary><c>experiment.allocation: bandit</c>, through the offline simulation: convergence, the fixed holdout, stickiness.</summary>
public sealed class BanditAllocationTests
{
    private static readonly RuleSet Bandit = RuleSetLoader.Load("""
        version: bandit
        rules:
          - id: offer
            trigger: { kind: event, event: Cart Viewed }
            action: { moment: conversion, channel: in_app, message: { body: "10 % off today" } }
            conversion: { event: Order Completed, within: 1h }
            experiment:
              name: offer-copy
              allocation: bandit
              holdout: 0.1
              variants:
                - { name: plain, weight: 1 }
                - { name: urgent, weight: 1, message: { body: "10 % off, today only" } }
                - { name: social, weight: 1, message: { body: "1,200 people used this today" } }
        """);

    /// <summary>How often each arm's users convert: "urgent" is clearly better.</summary>
    private static readonly Dictionary<string, double> ConversionRate = new() { ["plain"] = 0.05, ["urgent"] = 0.40, ["social"] = 0.10 };

    /// <summary>
    /// <paramref name="users"/> users each view the cart once, a minute apart; a user whose arm converts (by a hash of the user
    /// id, so every run is the same) orders a minute later. Returns each user's arm in order.
    /// </summary>
    private static (Scenario S, List<string> Arms) Run(int users)
    {
        var s = new Scenario(Bandit);
        var arms = new List<string>(users);
        for (var u = 0; u < users; u++)
        {
            var user = $"user-{u}";
            var at = TimeSpan.FromMinutes(2 * u);
            s.Track("Cart Viewed", at, user: user);
            var arm = s.DecisionsOf("offer").Last(d => d.UserId == user).Variant!;
            arms.Add(arm);
            if (ConversionRate.TryGetValue(arm, out var rate) && Unit(user) < rate)
            {
                s.Track("Order Completed", at + TimeSpan.FromMinutes(1), user: user);
            }
        }
        return (s, arms);
    }

    /// <summary>A point in [0, 1) from the user id that does not change between processes (string hashes do).</summary>
    private static double Unit(string user)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("conv\n" + user));
        return BitConverter.ToUInt32(hash, 0) / (double)uint.MaxValue;
    }

    /// <summary>The documented figure (docs/analytics.md, "Adaptive allocation"): after 300 exposures the best arm has most new ones.</summary>
    [Fact]
    public void ClearlyBetterArm_After300Exposures_GetsMostOfTheTraffic()
    {
        var (_, arms) = Run(600);

        var late = arms.Skip(300).Where(a => a != ExperimentAssignment.HoldoutVariant).ToList();
        var urgentShare = late.Count(a => a == "urgent") / (double)late.Count;
        Assert.True(urgentShare >= 0.8, $"urgent had {urgentShare:P0} of exposures 300–600");
        var early = arms.Take(60).Where(a => a != ExperimentAssignment.HoldoutVariant).ToList();
        Assert.True(early.Distinct().Count() == 3, "every arm is tried at the start");
    }

    [Fact]
    public void Holdout_StaysAtItsShare_OutsideTheBandit()
    {
        var (_, arms) = Run(600);

        var share = arms.Count(a => a == ExperimentAssignment.HoldoutVariant) / 600.0;
        Assert.InRange(share, 0.06, 0.14);
        // The same users as the weights' hash holds out: the holdout never depends on how the arms do.
        var expected = Enumerable.Range(0, 600).Where(u => ExperimentAssignment.Point($"user-{u}", "offer-copy") < 0.1).Count();
        Assert.Equal(expected, arms.Count(a => a == ExperimentAssignment.HoldoutVariant));
    }

    [Fact]
    public void AssignedUser_KeepsTheArm_WhenTheBanditHasMovedOn()
    {
        var (s, arms) = Run(400);
        // Early users were assigned before the bandit learned; many of them are on a worse arm.
        var early = Enumerable.Range(0, 40).Where(u => arms[u] is "plain" or "social").ToList();
        Assert.NotEmpty(early);
        foreach (var u in early)
        {
            s.Track("Cart Viewed", TimeSpan.FromMinutes(900 + u), user: $"user-{u}");
            Assert.Equal(arms[u], s.DecisionsOf("offer").Last(d => d.UserId == $"user-{u}").Variant);
        }
    }

    [Fact]
    public void SameEvents_SameArms_EveryRun()
    {
        Assert.Equal(Run(200).Arms, Run(200).Arms);
    }

    [Fact]
    public void Assignments_CountedPerDay_ForTheShareOverTime()
    {
        var (s, arms) = Run(100);

        var assigned = s.Simulation.Counters["offer"].Where(f => f.Key.Contains("|" + ArmAllocator.AssignedMetric, StringComparison.Ordinal)).ToList();
        Assert.Equal(arms.Count(a => a != ExperimentAssignment.HoldoutVariant), assigned.Sum(f => f.Value));
        Assert.All(assigned, f => Assert.EndsWith(T0.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), f.Key, StringComparison.Ordinal));
    }

    [Fact]
    public void Report_ShowsEachArmsShareByDay_AndTheProbabilityItIsBest()
    {
        var (s, arms) = Run(600);

        var report = Analytics.ResponseReport.Build(s.Simulation.Counters);

        var bandit = Assert.Single(report.Bandits);
        Assert.Equal("offer", bandit.RuleId);
        Assert.Equal(["plain", "social", "urgent"], bandit.Arms.Select(a => a.Variant));
        Assert.True(bandit.Arms.Single(a => a.Variant == "urgent").ProbabilityBest > 0.95, string.Join("; ", bandit.Arms));
        Assert.Equal(1.0, bandit.Arms.Sum(a => a.ProbabilityBest), 6);
        // Two minutes a user from 10:00: the 600 span 20 hours, so two UTC days, each split between the arms.
        Assert.Equal(arms.Count(a => a != ExperimentAssignment.HoldoutVariant), bandit.Days.Sum(d => d.Assigned));
        Assert.All(bandit.Days, d => Assert.Equal(1.0, d.Share.Values.Sum(), 6));
        Assert.True(bandit.Days[^1].Share["urgent"] > bandit.Days[0].Share["urgent"], "urgent's share grows");
    }

    [Fact]
    public void ProbabilityBest_EqualArms_Split()
    {
        var p = Analytics.BanditReport.ProbabilityBest([(1000, 100), (1000, 100)]);
        Assert.Equal(0.5, p[0], 1);
        Assert.Equal(0.5, p[1], 1);
    }

    [Fact]
    public void DecisionsFile_GivesTheSameBanditReportAsTheCounters()
    {
        var (s, _) = Run(300);

        var live = Analytics.BanditReport.Build(s.Simulation.Counters);
        var offline = Analytics.BanditReport.Build(Analytics.AuditCounters.From(s.Simulation.Decisions, s.Simulation.Feedback));

        Assert.Equal(live.Single().Arms, offline.Single().Arms);
        Assert.Equal(live.Single().Days.Select(d => (d.Day, d.Assigned)), offline.Single().Days.Select(d => (d.Day, d.Assigned)));
    }

    [Fact]
    public void ForgedArmCounts_NegativeOrMoreConversionsThanSent_StillAssign()
    {
        var experiment = Bandit.Rules[0].Experiment!;
        var statistics = new ArmStatistics();
        statistics.Load(new Dictionary<string, ArmCounts>
        {
            [ArmStatistics.Key("offer", "plain")] = new(-5, -2),
            [ArmStatistics.Key("offer", "urgent")] = new(3, 9),
        });

        var arm = ArmAllocator.Sample("user-x", "offer", experiment, statistics);

        Assert.Contains(arm, experiment.Variants.Select(v => v.Name));
        Assert.Equal(new ArmCounts(3, 3), statistics.Of("offer", "urgent").Bounded);
    }
}
