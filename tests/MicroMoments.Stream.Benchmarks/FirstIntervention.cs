using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// A fresh worker's first intervention: the worker starts and joins its group, then one user's three failed tasks
/// are produced; timed from producing the third (the trigger) to the intervention read from the output topic.
/// Runs first, so the first worker is also the process's first: its code is not yet compiled, as in production.
/// A second fresh worker in the now warm process separates the JIT's share from the I/O's.
/// </summary>
public static class FirstIntervention
{
    /// <summary>Returns the cold worker's latency in ms.</summary>
    public static async Task<double> RunAsync(BenchInfrastructure infra)
    {
        var cold = await MeasureAsync(infra, "first-cold");
        var warm = await MeasureAsync(infra, "first-warm");
        Console.WriteLine(Stats.Invariant($"first intervention: {cold.Latency:F1} ms after its event for a fresh worker in a fresh process (joined in {cold.Joined.TotalMilliseconds:F0} ms); {warm.Latency:F1} ms for a second fresh worker in the warm process (joined in {warm.Joined.TotalMilliseconds:F0} ms)"));
        return cold.Latency;
    }

    private static async Task<(double Latency, TimeSpan Joined)> MeasureAsync(BenchInfrastructure infra, string section)
    {
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output);
        var started = Stopwatch.StartNew();
        await using var worker = await WorkerUnderTest.StartAsync(infra, section);
        var health = worker.Services.GetRequiredService<PipelineHealth>();
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (health.Partitions < BenchInfrastructure.Partitions || !reader.Assigned)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{section}: the worker owns {health.Partitions} partitions, the reader is {(reader.Assigned ? "" : "not ")}assigned");
            }
            await Task.Delay(10);
        }
        var joined = started.Elapsed;
        var producedAt = new ConcurrentDictionary<string, long>();
        reader.Track(producedAt);
        var mix = new EventMix(1, seed: 5, userPrefix: $"{section}-u");
        for (var i = 0; i < 3; i++)
        {
            // Roll 90: a failed task; the default catalogue's setup-task-failing fires on the third.
            var (user, body, id) = mix.Next(DateTimeOffset.UtcNow, 0, 90);
            producedAt[id] = Stopwatch.GetTimestamp();
            infra.Producer.Produce(input, new Message<string, byte[]> { Key = user, Value = body });
        }
        infra.Producer.Flush();
        while (reader.Tracked == 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{section}: no intervention within 60 s");
            }
            await Task.Delay(1);
        }
        return (reader.TakeLatencies().Min(), joined);
    }
}
