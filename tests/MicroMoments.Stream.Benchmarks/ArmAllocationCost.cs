using System.Diagnostics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// What <c>allocation: bandit</c> costs a candidate of a bandit experiment (<see cref="ArmAllocator.Assign"/>), on one thread:
/// a new user's first exposure (three Beta draws, a SHA-256 seed, the arm kept in the state) and a returning user's (the kept
/// arm). Paid per candidate of such a rule, not per event: a rule's candidates are a small share of its events.
/// </summary>
public static class ArmAllocationCost
{
    private static readonly Rule Offer = RuleSetLoader.Load("""
        version: bench
        rules:
          - id: offer
            trigger: { kind: event, event: Cart Viewed }
            action: { moment: conversion, channel: in_app, message: { body: a } }
            conversion: { event: Order Completed, within: 1h }
            experiment:
              allocation: bandit
              holdout: 0.1
              variants: [ { name: plain }, { name: urgent, message: { body: b } }, { name: social, message: { body: c } } ]
        """).Rules[0];

    private static readonly ExperimentSpec Experiment = Offer.Experiment!;

    public static void Run(int calls)
    {
        var rule = Offer;
        var statistics = new ArmStatistics();
        statistics.Observe(new Dictionary<string, Dictionary<string, long>>
        {
            ["offer"] = new() { ["plain|emitted"] = 4_000, ["plain|converted"] = 200, ["urgent|emitted"] = 9_000, ["urgent|converted"] = 3_600, ["social|emitted"] = 3_000, ["social|converted"] = 300 },
        });
        statistics.Commit();
        var users = Enumerable.Range(0, calls).Select(i => new UserState { UserId = $"bench-user-{i}" }).ToArray();
        // Warm-up: compiled and tiered before it is timed.
        foreach (var u in users.Take(2_000))
        {
            _ = ArmAllocator.Assign(new UserState { UserId = u.UserId + "-w" }, rule, Experiment, statistics);
        }
        var (firstNs, firstBytes) = Time(() =>
        {
            foreach (var u in users)
            {
                _ = ArmAllocator.Assign(u, rule, Experiment, statistics);
            }
        });
        var (keptNs, keptBytes) = Time(() =>
        {
            foreach (var u in users)
            {
                _ = ArmAllocator.Assign(u, rule, Experiment, statistics);
            }
        });
        Console.WriteLine(Stats.Invariant($"  bandit allocation (3 arms, 10 % holdout): {firstNs / calls:F0} ns and {firstBytes / calls:F0} B per first exposure, {keptNs / calls:F0} ns and {keptBytes / calls:F0} B per later candidate (the kept arm)"));
    }

    private static (double Nanos, double Bytes) Time(Action run)
    {
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        run();
        return (Stopwatch.GetElapsedTime(started).TotalNanoseconds, GC.GetAllocatedBytesForCurrentThread() - bytes);
    }
}
