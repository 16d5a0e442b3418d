namespace MicroMoments.Stream.Core.Segments;

/// <summary>
/// Suggests a name for each learned segment from its centroid. Each trait has a score (how far the segment's features lie from
/// the population's mean, in standard deviations) and a floor in raw units (a "lapsed" segment is at least 3 days away, whatever
/// the population): the highest-scoring trait above the mean and its floor is handed out first, one segment each; a segment
/// left without one is "casual". The names are suggestions: the segments file may be edited to rename them.
/// </summary>
public static class SegmentNames
{
    private const int ActiveDays = 0, EventsPerDay = 1, Features = 2, DaysSince = 4, FailureRate = 5, Tenure = 6;

    public const string Casual = "casual";

    private static readonly (string Name, Func<IReadOnlyList<double>, double> Score, Func<double[], bool> Floor)[] Traits =
    [
        ("active engager", z => (z[ActiveDays] + z[EventsPerDay] + z[Features]) / 3, x => x[ActiveDays] >= 2),
        ("lapsed", z => z[DaysSince], x => x[DaysSince] >= 3),
        ("struggling", z => z[FailureRate], x => x[FailureRate] >= 0.25),
        ("new user", z => -(z[Tenure] + z[ActiveDays]) / 2, x => x[Tenure] <= 7),
    ];

    /// <summary>A name per centroid (standardised) of a model with these <paramref name="means"/> and <paramref name="stdDevs"/>.</summary>
    public static string[] Suggest(IReadOnlyList<IReadOnlyList<double>> centroids, IReadOnlyList<double> means, IReadOnlyList<double> stdDevs)
    {
        var names = new string?[centroids.Count];
        var pairs = new List<(double Score, int Segment, int Trait)>();
        for (var c = 0; c < centroids.Count; c++)
        {
            var raw = centroids[c].Select((z, i) => means[i] + z * stdDevs[i]).ToArray();
            for (var t = 0; t < Traits.Length; t++)
            {
                if (Traits[t].Floor(raw))
                {
                    pairs.Add((Traits[t].Score(centroids[c]), c, t));
                }
            }
        }
        var taken = new bool[Traits.Length];
        // Strongest first; ties by segment, then trait, so the same centroids always get the same names.
        foreach (var (score, c, t) in pairs.OrderByDescending(p => p.Score).ThenBy(p => p.Segment).ThenBy(p => p.Trait))
        {
            if (score > 0 && names[c] is null && !taken[t])
            {
                (names[c], taken[t]) = (Traits[t].Name, true);
            }
        }
        var result = new string[names.Length];
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < names.Length; c++)
        {
            var name = names[c] ?? Casual;
            var n = used[name] = used.GetValueOrDefault(name) + 1;
            result[c] = n == 1 ? name : $"{name} {n}";
        }
        return result;
    }
}
