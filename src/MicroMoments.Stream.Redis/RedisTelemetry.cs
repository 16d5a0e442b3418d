using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MicroMoments.Stream.Redis;

/// <summary>The Redis component's <see cref="Meter"/>: <c>MicroMoments.Stream.Redis</c>.</summary>
public sealed class RedisTelemetry
{
    public const string Name = "MicroMoments.Stream.Redis";
    private readonly Histogram<double> _duration;

    public RedisTelemetry(IMeterFactory meters) =>
        _duration = meters.Create(Name).CreateHistogram<double>("micromoments.stream.redis.duration", "s",
            "Redis call latency (retries included), by operation: load, write, due_timers, acquire, population.");

    public async Task<T> TimeAsync<T>(string operation, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        finally
        {
            _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("operation", operation));
        }
    }
}
