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
        Console.WriteLine(Stats.Invariant($"first intervention: {cold.Latency:F1} ms after its event for a fresh worker in a fresh process (joined in {cold.Joined.TotalMilliseconds:F0} ms; {cold.Parts})"));
        Console.WriteLine(Stats.Invariant($"  {warm.Latency:F1} ms for a second fresh worker in the warm process (joined in {warm.Joined.TotalMilliseconds:F0} ms; {warm.Parts})"));
        return cold.Latency;
    }

    private static async Task<(double Latency, TimeSpan Joined, string Parts)> MeasureAsync(BenchInfrastructure infra, string section)
    {
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output);
        var started = Stopwatch.StartNew();
        await using var worker = await WorkerUnderTest.StartAsync(infra, section);
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        await worker.WaitUntilAssignedAsync(reader, TimeSpan.FromSeconds(60));
        var joined = started.Elapsed;
        // The load producer learns the new topic's leaders now: its first record to an unknown topic waits ~100 ms
        // for metadata, which is the benchmark's cost, not the worker's.
        using (var admin = new DependentAdminClientBuilder(infra.Producer.Handle).Build())
        {
            admin.GetMetadata(input, TimeSpan.FromSeconds(10));
        }
        var first = await TriggerAsync(infra, worker, reader, input, $"{section}-u", deadline);
        // What the loop did on Redis before and around the first batch: a fresh worker acquires every shard it was
        // given, reads its outbox and checks its timers, one round trip after another, on the loop's thread.
        var startUp = string.Join(", ", new[] { "acquire", "outbox", "due_timers", "population", "load", "write" }.Select(op =>
            Stats.Invariant($"{op} {worker.RedisCalls.GetValueOrDefault(op)}× {worker.Seconds.GetValueOrDefault("redis " + op) * 1000:F0} ms")));
        // The same worker again, idle and warm: a lone event must go out at once, not wait for a batch to fill.
        var again = await TriggerAsync(infra, worker, reader, input, $"{section}-v", deadline);
        return (first.Latency, joined, first.Parts + $"; Redis calls so far: {startUp}" + Stats.Invariant($"; then a lone trigger to the same idle worker {again.Latency:F1} ms: {again.Parts}"));
    }

    private static async Task<(double Latency, string Parts)> TriggerAsync(BenchInfrastructure infra, WorkerUnderTest worker, InterventionReader reader, string input, string user, long deadline)
    {
        var batchesBefore = worker.Batches;
        worker.ResetFirstBatch();
        var producedAt = new ConcurrentDictionary<string, long>();
        reader.Track(producedAt);
        var mix = new EventMix(1, seed: 5, userPrefix: user);
        var trigger = 0L;
        for (var i = 0; i < 3; i++)
        {
            // Roll 90: a failed task; the default catalogue's setup-task-failing fires on the third.
            var (key, body, id) = mix.Next(DateTimeOffset.UtcNow, 0, 90);
            producedAt[id] = trigger = Stopwatch.GetTimestamp();
            infra.Producer.Produce(input, new Message<string, byte[]> { Key = key, Value = body });
        }
        infra.Producer.Flush();
        while (reader.Tracked == 0 || worker.FirstBatch.EndedAt == 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{user}: no intervention within 60 s");
            }
            await Task.Delay(1);
        }
        var latency = reader.TakeLatencies().Min();
        var (ended, took) = worker.FirstBatch;
        var consumed = Stopwatch.GetElapsedTime(trigger, ended) - took;
        return (latency, Stats.Invariant($"consumed after {consumed.TotalMilliseconds:F0} ms, parse to commit started {took.TotalMilliseconds:F0} ms, then {latency - Stopwatch.GetElapsedTime(trigger, ended).TotalMilliseconds:F0} ms to Redis, Kafka and the reader ({worker.Batches - batchesBefore} batches)"));
    }
}
