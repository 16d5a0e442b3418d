using System.Diagnostics;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>An offered load at a fixed rate, for the latency rounds.</summary>
public static class PacedLoad
{
    /// <summary>
    /// Calls <paramref name="produceOne"/> <paramref name="rate"/> × <paramref name="seconds"/> times, each when its time
    /// has come, sleeping a millisecond between bursts: pacing must not take a core from the system measured.
    /// </summary>
    public static void Run(int rate, int seconds, Action produceOne)
    {
        var paced = (long)rate * seconds;
        var start = Stopwatch.GetTimestamp();
        var i = 0L;
        while (i < paced)
        {
            var due = Math.Min(paced, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate));
            for (; i < due; i++)
            {
                produceOne();
            }
            Thread.Sleep(1);
        }
    }
}
