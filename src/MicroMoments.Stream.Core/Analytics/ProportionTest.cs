using MathNet.Numerics.Distributions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>A difference of two rates with its 95 % interval and the two-sided p-value of a two-proportion z-test.</summary>
public sealed record Comparison(string Against, double Difference, double Low, double High, double PValue);

/// <summary>The two-proportion z-test (pooled standard error) and a Wald 95 % interval for the difference.</summary>
public static class ProportionTest
{
    private static readonly double Z95 = Normal.InvCDF(0, 1, 0.975);

    /// <summary>Compares x1 of n1 with x2 of n2; null when either side has no trials.</summary>
    public static Comparison? Compare(long x1, long n1, long x2, long n2, string against)
    {
        if (n1 <= 0 || n2 <= 0)
        {
            return null;
        }
        double p1 = (double)x1 / n1, p2 = (double)x2 / n2;
        var pooled = (double)(x1 + x2) / (n1 + n2);
        var se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
        var z = se == 0 ? 0 : (p1 - p2) / se;
        var pValue = se == 0 ? 1 : 2 * (1 - Normal.CDF(0, 1, Math.Abs(z)));
        var seDiff = Math.Sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
        return new Comparison(against, p1 - p2, p1 - p2 - Z95 * seDiff, p1 - p2 + Z95 * seDiff, pValue);
    }
}
