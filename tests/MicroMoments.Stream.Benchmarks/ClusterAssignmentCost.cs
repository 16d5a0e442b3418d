using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// What <c>user.cluster</c> costs where a rule reads it: the features from the user's state and the nearest of k centroids,
/// per evaluation (at most once per event and rule that tests it), in thread CPU time and bytes allocated. Users are the
/// standard mix's, replayed with no rules; the segments are learned from them as the command does, with k-means's
/// centroids stood in for by k users spread over the population (the cost depends on k and the features, not on where the
/// centroids lie).
/// </summary>
public static class ClusterAssignmentCost
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    public static void Run(int events, int evaluations, int k = 4)
    {
        var simulation = new OfflineSimulation(RuleSetLoader.Load("version: bench\nrules: []\n"));
        var mix = new EventMix(Math.Max(k, events / 20), seed: 42);
        for (var i = 0; i < events; i++)
        {
            simulation.Feed(mix.Next(Noon - TimeSpan.FromMilliseconds(events - i)).Body, i + 1);
        }
        var users = simulation.Users.Values.Where(u => u.Behaviour is not null).OrderBy(u => u.UserId, StringComparer.Ordinal).ToArray();
        var population = SegmentPopulation.Of(users, Noon);
        var centroids = Enumerable.Range(0, k).Select(c => population.Standardised(c * population.Count / k)).ToArray();
        var model = new SegmentModel(population.Means, population.StdDevs, centroids, [.. Enumerable.Range(0, k).Select(c => $"segment {c}")]);

        var best = (Nanos: double.MaxValue, Bytes: double.MaxValue);
        for (var round = 0; round < 4; round++) // the first round warms up; the best of the others
        {
            var found = 0;
            var (t, a) = (ThreadCpu.Now(), GC.GetTotalAllocatedBytes(precise: true));
            for (var i = 0; i < evaluations; i++)
            {
                found += model.Assign(users[i % users.Length], Noon) is null ? 0 : 1;
            }
            var (nanos, bytes) = ((ThreadCpu.Now() - t) / (double)evaluations, (GC.GetTotalAllocatedBytes(precise: true) - a) / (double)evaluations);
            if (round > 0)
            {
                best = (Math.Min(best.Nanos, nanos), Math.Min(best.Bytes, bytes));
            }
            GC.KeepAlive(found);
        }
        Console.WriteLine(Stats.Invariant(
            $"  user.cluster assignment ({SegmentFeatures.Length} features, k = {k}, {users.Length:N0} users): {best.Nanos:F0} ns and {best.Bytes:N0} B per evaluation"));
    }
}
