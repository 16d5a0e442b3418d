using MathNet.Numerics.Distributions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>A rate x of n with its 95 % Wilson score interval.</summary>
public sealed record Rate(long Successes, long Trials, double Value, double Low, double High);

/// <summary>
/// The Wilson score interval: unlike the Wald interval it stays inside [0, 1] and is still sensible for the few trials
/// and rates near 0 or 1 that a new rule or a quiet variant has.
/// </summary>
public static class RateInterval
{
    private static readonly double Z95 = Normal.InvCDF(0, 1, 0.975);

    /// <summary>x of n with its interval; null when there are no trials.</summary>
    public static Rate? Of(long x, long n)
    {
        if (n <= 0)
        {
            return null;
        }
        x = Math.Clamp(x, 0, n);
        var p = (double)x / n;
        var z2 = Z95 * Z95;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = Z95 * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return new Rate(x, n, p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
