using MicroMoments.Stream.Core.Segments;

namespace MicroMoments.Stream.Core.Tests.LearnedSegments;

/// <summary>Suggested segment names from the centroids.</summary>
public sealed class SegmentNamesTests
{
    // Raw means: 5 active days, 10 events a day, 2 features, 10 min sessions, 5 days away, 20 % failures, 20 days' tenure.
    private static readonly double[] Means = [5, 10, 2, 10, 5, 0.2, 20];
    private static readonly double[] StdDevs = [3, 5, 1, 5, 4, 0.2, 10];

    [Fact]
    public void Suggest_FourDistinctProfiles_EachItsTrait()
    {
        double[][] centroids =
        [
            [-0.5, -0.5, -0.5, 0, 3, 0, 0.5],   // 17 days away
            [1.5, 1.5, 1.5, 1, -1, -0.5, 0.5],  // 9.5 active days
            [0, 0, 0, 0, -0.5, 2, 0],           // 60 % failures
            [-1.2, 0, 0, 0, -1, 0, -1.5],       // 5 days' tenure
        ];

        Assert.Equal(["lapsed", "active engager", "struggling", "new user"], SegmentNames.Suggest(centroids, Means, StdDevs));
    }

    [Fact]
    public void Suggest_NothingStandsOutOrBelowTheFloor_CasualNumbered()
    {
        // Both a little further away than the mean, but under the 3-day floor of "lapsed"; neither new.
        double[][] centroids = [[0, 0, 0, 0, -1, 0, 1], [0, 0, 0, 0, -0.6, 0, 1]];

        Assert.Equal(["casual", "casual 2"], SegmentNames.Suggest(centroids, Means, StdDevs));
    }
}
