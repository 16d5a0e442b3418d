using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Segments;

/// <summary>
/// The users to learn segments from and their raw features at one reference time, with the standardisation the file keeps:
/// every user with activity counted, except an anonymous state merged into another (its history lives on there), by user id.
/// </summary>
public sealed class SegmentPopulation
{
    private SegmentPopulation(string[] userIds, double[][] features)
    {
        (UserIds, Features) = (userIds, features);
        var n = SegmentFeatures.Length;
        Means = new double[n];
        StdDevs = new double[n];
        for (var i = 0; i < n; i++)
        {
            var mean = features.Length == 0 ? 0 : features.Average(f => f[i]);
            var variance = features.Length == 0 ? 0 : features.Average(f => (f[i] - mean) * (f[i] - mean));
            Means[i] = mean;
            // A feature every user shares carries no information: a deviation of 1 keeps it at 0 for all instead of dividing by 0.
            StdDevs[i] = variance > 1e-12 ? Math.Sqrt(variance) : 1;
        }
    }

    public IReadOnlyList<string> UserIds { get; }

    /// <summary>Per user, the raw features (<see cref="SegmentFeatures.Names"/> order).</summary>
    public IReadOnlyList<double[]> Features { get; }

    /// <summary>Population mean and standard deviation (over users, divided by n) of each feature.</summary>
    public double[] Means { get; }

    public double[] StdDevs { get; }

    public int Count => UserIds.Count;

    public static SegmentPopulation Of(IEnumerable<UserState> users, DateTimeOffset referenceTime)
    {
        var chosen = users.Where(u => u.Behaviour is not null && u.MergedInto is null).OrderBy(u => u.UserId, StringComparer.Ordinal).ToList();
        var features = new double[chosen.Count][];
        for (var u = 0; u < chosen.Count; u++)
        {
            features[u] = new double[SegmentFeatures.Length];
            SegmentFeatures.TryCompute(chosen[u], referenceTime, features[u]);
        }
        return new SegmentPopulation([.. chosen.Select(u => u.UserId)], features);
    }

    /// <summary>A user's features in standardised units.</summary>
    public double[] Standardised(int user) =>
        [.. Features[user].Select((x, i) => (x - Means[i]) / StdDevs[i])];

    /// <summary>Per segment of <paramref name="model"/>: its users (by nearest centroid) and the mean of each raw feature.</summary>
    public (int[] Assignments, SegmentProfile[] Profiles) Profile(SegmentModel model)
    {
        var assignments = Features.Select(f => model.Nearest(f)).ToArray();
        var profiles = new SegmentProfile[model.Names.Count];
        for (var c = 0; c < profiles.Length; c++)
        {
            var members = Enumerable.Range(0, Count).Where(u => assignments[u] == c).ToList();
            var means = Enumerable.Range(0, SegmentFeatures.Length)
                .Select(i => members.Count == 0 ? 0 : members.Average(u => Features[u][i])).ToArray();
            profiles[c] = new SegmentProfile(model.Names[c], members.Count, means);
        }
        return (assignments, profiles);
    }
}
