using MicroMoments.Stream.Benchmarks;
using Xunit.Abstractions;

// The allocation budget counts the whole process's bytes: no other test may run beside it.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MicroMoments.Stream.Benchmarks.Tests;

/// <summary>
/// The benchmark's <c>core</c> section on the default catalogue, as a test: bytes allocated per event by the worker's
/// stages (parse, load, apply, pace, prepare, encode) on the standard event mix, at a fixed time of day. Unlike timings
/// they hardly move with the machine's speed or load (after a warm-up run, the least of three rounds per stage; what still moves is the thread
/// pool's share of a parallel stage, and code not yet optimised by tiered compilation), so they can fail a build.
/// The budget is the figure in docs/benchmarks.md ("Issue 20") plus 10 %; lower it when a change lowers the figure.
/// </summary>
public sealed class AllocationBudgetTests(ITestOutputHelper output)
{
    /// <summary>Bytes allocated per event, all stages: measured 1,278 at the last change, + 10 %. Issue 20 asks for 300.</summary>
    public const double BudgetBytesPerEvent = 1_405;

    [Fact]
    public void DefaultCatalogue_CoreStages_AllocateWithinTheBudgetPerEvent()
    {
        using var infra = BenchInfrastructure.Start(useGarnet: false);

        // As the benchmark does: a discarded run first, then per stage the least of three rounds (tiered compilation
        // may still be optimising the stages' code in the first ones, on a busy machine more so).
        _ = CoreCost.Run(infra, "warm-up", 20_000, rounds: 1);
        var result = CoreCost.Run(infra, "allocation budget", events: 40_000, rounds: 3);

        var stages = string.Join(", ", result.Stages.Select(s => $"{s.Name} {s.BytesPerEvent:F0} B"));
        output.WriteLine($"{result.TotalBytes:F0} B per event ({stages}); budget {BudgetBytesPerEvent:F0} B");
        Assert.True(result.Interventions > 0, "the mix produced no intervention: the budget would measure nothing");
        Assert.True(result.TotalBytes <= BudgetBytesPerEvent,
            $"the default catalogue allocates {result.TotalBytes:F0} B per event, over the budget of {BudgetBytesPerEvent:F0} B ({stages})");
    }
}
