using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Segments;

/// <summary>
/// Learned segments as the <c>segment</c> command wrote them (<see cref="SegmentsFile"/>): each feature's mean and standard
/// deviation, and each segment's name and centroid in standardised units. Assignment is the nearest centroid, pure and
/// allocation-free, so <c>user.cluster</c> costs a few hundred nanoseconds where a rule asks for it.
/// </summary>
public sealed class SegmentModel
{
    private readonly double[] _means;
    private readonly double[] _stdDevs;
    private readonly double[][] _centroids;

    /// <param name="means">Per feature (<see cref="SegmentFeatures.Names"/> order).</param>
    /// <param name="stdDevs">Per feature, each above 0.</param>
    /// <param name="centroids">Per segment, one standardised value per feature.</param>
    /// <param name="names">Per segment, in the order of <paramref name="centroids"/>.</param>
    /// <param name="version">Identifies the file (a reload of the same content changes nothing).</param>
    public SegmentModel(double[] means, double[] stdDevs, double[][] centroids, string[] names, string version = "")
    {
        var n = SegmentFeatures.Length;
        if (means.Length != n || stdDevs.Length != n || centroids.Length == 0 || names.Length != centroids.Length
            || centroids.Any(c => c.Length != n) || stdDevs.Any(d => !(d > 0)))
        {
            throw new ArgumentException("segments need a mean and a positive standard deviation per feature, and a name and a full centroid per segment");
        }
        (_means, _stdDevs, _centroids, Names, Version) = (means, stdDevs, centroids, names, version);
    }

    public IReadOnlyList<string> Names { get; }

    public string Version { get; }

    public IReadOnlyList<double> Means => _means;

    public IReadOnlyList<double> StdDevs => _stdDevs;

    public IReadOnlyList<IReadOnlyList<double>> Centroids => _centroids;

    /// <summary>The standardised value of feature <paramref name="i"/>.</summary>
    public double Standardise(int i, double raw) => (raw - _means[i]) / _stdDevs[i];

    /// <summary>The index of the centroid nearest (squared Euclidean, standardised) to the raw features; the lower index on a tie.</summary>
    public int Nearest(ReadOnlySpan<double> raw)
    {
        var best = 0;
        var bestDistance = double.PositiveInfinity;
        for (var c = 0; c < _centroids.Length; c++)
        {
            var centroid = _centroids[c];
            var d = 0.0;
            for (var i = 0; i < raw.Length; i++)
            {
                var x = (raw[i] - _means[i]) / _stdDevs[i] - centroid[i];
                d += x * x;
            }
            if (d < bestDistance)
            {
                (best, bestDistance) = (c, d);
            }
        }
        return best;
    }

    /// <summary>The name of the user's segment at <paramref name="now"/>, or null for a user with no activity counted.</summary>
    public string? Assign(UserState state, DateTimeOffset now)
    {
        Span<double> features = stackalloc double[SegmentFeatures.Length];
        return SegmentFeatures.TryCompute(state, now, features) ? Names[Nearest(features)] : null;
    }
}
