using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using StackExchange.Redis;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The whole worker on the embedded broker and Redis: throughput with producing while consuming (and what
/// a batch costs in CPU and Redis round trips), then latency at fixed rates, then the consume-only ceiling.
/// </summary>
public static class PipelineSections
{
    private const int MaxLag = 100_000;

    /// <summary>Runs throughput (and, when asked, latency on the same worker); returns events/s and the p99 at each rate.</summary>
    public static async Task<(double EventsPerSecond, Dictionary<int, double> P99)> RunAsync(BenchInfrastructure infra, BenchmarkOptions o,
        bool throughput, bool latency)
    {
        var events = o.Quick ? 200_000 : 1_000_000;
        var users = events / 20;
        infra.Topics("bench");
        var generator = new EventMix(users, seed: 42);
        await using var worker = await WorkerUnderTest.StartAsync(infra, "bench");
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, "bench-interventions");
        var eventsPerSecond = double.NaN;
        if (throughput)
        {
            Console.WriteLine($"throughput: {events:N0} events, {users:N0} users, {BenchInfrastructure.Partitions} partitions, Kafka = librdkafka mock cluster (in process), Redis = {infra.RedisKind}, {Environment.ProcessorCount} cores");
            // A warm-up on other users first, so the figures are the steady state and not the JIT's first minutes.
            var warmUp = events / 10;
            var warmUsers = new EventMix(warmUp / 20, seed: 41, userPrefix: "warm-u");
            for (var i = 0; i < warmUp; i++)
            {
                while (i - worker.Total > MaxLag)
                {
                    infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
                }
                var (user, body, _) = warmUsers.Next(DateTimeOffset.UtcNow);
                infra.Produce("bench-clickstream", user, body);
            }
            infra.Producer.Flush();
            await worker.WaitForAsync(warmUp, TimeSpan.FromMinutes(5));
            await Task.Delay(300); // the warm-up's last write

            var commandsBefore = await CommandStatsAsync(infra.RedisConfiguration);
            var callsBefore = worker.RedisCalls.ToDictionary();
            var secondsBefore = worker.Seconds.ToDictionary();
            var batchesBefore = worker.Batches;
            var interventionsBefore = reader.Count;
            worker.StartWindow();
            var cpu = CpuSample.Take(infra);
            var threads = ThreadGroups.Take();
            var sw = Stopwatch.StartNew();
            var producerNanos = 0L;
            var producer = new Thread(() =>
            {
                var started = ThreadCpu.Now();
                for (var i = 0; i < events; i++)
                {
                    // The mock broker keeps ~5 MiB per partition: stay at most MaxLag records ahead of the worker.
                    while (i + warmUp - worker.Total > MaxLag)
                    {
                        infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
                    }
                    var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
                    infra.Produce("bench-clickstream", user, body);
                }
                infra.Producer.Flush();
                producerNanos = ThreadCpu.Now() - started;
            }) { Name = ThreadGroups.LoadProducer };
            producer.Start();
            producer.Join();
            var produceSeconds = sw.Elapsed.TotalSeconds;
            await worker.WaitForAsync(warmUp + events, TimeSpan.FromMinutes(5));
            var used = CpuSample.Take(infra) - cpu;
            var byThread = ThreadGroups.Take().Describe(threads, events, "event");
            var seconds = (worker.LastAt - worker.FirstAt).TotalSeconds;
            eventsPerSecond = events / Math.Max(0.001, seconds);
            var batches = Math.Max(1, worker.Batches - batchesBefore);
            Console.WriteLine($"  {events:N0} events in {seconds:F2} s = {eventsPerSecond:N0} events/s end to end (produced in {produceSeconds:F2} s; after a warm-up of {warmUp:N0} events on other users); {reader.Count - interventionsBefore:N0} interventions; {batches:N0} batches, mean {events / batches:N0} events/batch");
            Console.WriteLine($"  {used.Describe(events, "event")} (the process holds the worker, the broker and the load producer)");
            Console.WriteLine($"  CPU by thread: {byThread}; load producer {producerNanos / 1000.0 / events:F1} µs/event");
            var calls = worker.RedisCalls.ToDictionary(c => c.Key, c => c.Value - callsBefore.GetValueOrDefault(c.Key));
            Console.WriteLine($"  redis round trips per batch (client, by operation): {string.Join(", ", calls.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value / (double)batches:F1}"))}; total {calls.Values.Sum() / (double)batches:F1}");
            var ms = worker.Seconds.ToDictionary(c => c.Key, c => (c.Value - secondsBefore.GetValueOrDefault(c.Key)) * 1000 / batches);
            Console.WriteLine($"  per batch: {ms.GetValueOrDefault("batch"):F1} ms in the loop (parse to write started); Redis wall time {string.Join(", ", ms.Where(m => m.Key.StartsWith("redis ", StringComparison.Ordinal)).OrderBy(m => m.Key).Select(m => $"{m.Key[6..]} {m.Value:F1}"))} ms (load and due_timers hold the loop; write overlaps the next batch)");
            var commands = Diff(await CommandStatsAsync(infra.RedisConfiguration), commandsBefore);
            Console.WriteLine($"  redis commands per batch (server, scripts' inner calls included): {string.Join(", ", commands.Where(c => c.Value >= batches).OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value / (double)batches:F0}"))}");
        }

        var p99 = new Dictionary<int, double>();
        if (latency)
        {
            foreach (var rate in new[] { 10_000, 20_000 })
            {
                p99[rate] = await LatencyAsync(infra, worker, reader, generator, rate, o.Quick ? 5 : 15);
            }
        }
        var bytesPerUser = await UserKeyBytesAsync(infra.RedisConfiguration, "mm:{bench-clickstream:*}:u:*", 1000);
        Console.WriteLine($"  redis: {bytesPerUser:F0} bytes per user key (MEMORY USAGE, mean of 1,000 sampled users of this run)");
        return (eventsPerSecond, p99);
    }

    /// <summary>A fixed rate, timing each intervention from its triggering event's production to its arrival on the output topic.</summary>
    private static async Task<double> LatencyAsync(BenchInfrastructure infra, WorkerUnderTest worker, InterventionReader reader, EventMix generator, int rate, int seconds)
    {
        var producedAt = new ConcurrentDictionary<string, long>();
        reader.Track(producedAt);
        var before = worker.Total;
        var paced = rate * seconds;
        worker.TakeBatchMillis();
        var cpu = CpuSample.Take(infra);
        var start = Stopwatch.GetTimestamp();
        var i = 0;
        while (i < paced)
        {
            // Produce what is due, then sleep a millisecond: pacing must not take a core from the worker.
            var due = Math.Min(paced, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate));
            for (; i < due; i++)
            {
                var (user, body, messageId) = generator.Next(DateTimeOffset.UtcNow);
                producedAt[messageId] = Stopwatch.GetTimestamp();
                infra.Producer.Produce("bench-clickstream", new Message<string, byte[]> { Key = user, Value = body });
            }
            Thread.Sleep(1);
        }
        infra.Producer.Flush();
        await worker.WaitForAsync(before + paced, TimeSpan.FromMinutes(2));
        await Task.Delay(500); // let the last interventions arrive at the reader
        var used = CpuSample.Take(infra) - cpu;
        var latencies = reader.TakeLatencies().Order().ToArray();
        var batches = worker.TakeBatchMillis();
        Console.WriteLine($"latency at {rate:N0} events/s for {seconds} s: {latencies.Length:N0} interventions, p50 {Stats.Percentile(latencies, 0.50):F1} ms, p99 {Stats.Percentile(latencies, 0.99):F1} ms, max {latencies.LastOrDefault():F1} ms (event produced → intervention consumed); {used.Describe(paced, "event")}");
        Console.WriteLine($"  {batches.Length:N0} batches of {paced / Math.Max(1.0, batches.Length):F0} events on average, each {Stats.Percentile(batches, 0.5):F1} ms in the loop at p50, {Stats.Percentile(batches, 0.99):F1} ms at p99");
        return Stats.Percentile(latencies, 0.99);
    }

    /// <summary>The ceiling: a consume-only loop over the same broker, same client settings, nothing else running.</summary>
    public static double ConsumeOnlyCeiling(BenchInfrastructure infra, BenchmarkOptions o)
    {
        const string topic = "bench-ceiling";
        var count = 200_000;
        infra.Kafka.CreateTopic(topic, BenchInfrastructure.Partitions);
        var generator = new EventMix(count / 20, seed: 7);
        for (var i = 0; i < count; i++)
        {
            var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
            infra.Produce(topic, user, body);
        }
        infra.Producer.Flush();
        // Best of three reads (each a new group from the start): the ceiling is what the broker and client can do.
        var best = 0.0;
        for (var round = 0; round < (o.Quick ? 1 : 3); round++)
        {
            var config = KafkaClientConfigs.Consumer(new KafkaOptions { BootstrapServers = infra.Kafka.BootstrapServers, GroupId = $"ceiling-{Guid.NewGuid():N}" });
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
            consumer.Subscribe(topic);
            var read = 0;
            var sw = new Stopwatch();
            while (read < count)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } r)
                {
                    if (read == 0)
                    {
                        sw.Start();
                    }
                    read++;
                    consumer.StoreOffset(r);
                }
            }
            best = Math.Max(best, count / sw.Elapsed.TotalSeconds);
            consumer.Close();
        }
        return best;
    }

    /// <summary>Mean MEMORY USAGE of up to <paramref name="sample"/> keys matching <paramref name="pattern"/>.</summary>
    public static async Task<double> UserKeyBytesAsync(string config, string pattern, int sample)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(config + ",allowAdmin=true");
        var server = redis.GetServers()[0];
        var db = redis.GetDatabase();
        var sizes = new List<long>();
        foreach (var key in server.Keys(pattern: pattern, pageSize: 500).Take(sample))
        {
            var r = await db.ExecuteAsync("MEMORY", "USAGE", key);
            if (!r.IsNull)
            {
                sizes.Add((long)r);
            }
        }
        return sizes.Count == 0 ? double.NaN : sizes.Average();
    }

    /// <summary>Calls per command since the server started (INFO commandstats).</summary>
    public static async Task<Dictionary<string, long>> CommandStatsAsync(string config)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(config + ",allowAdmin=true");
        var info = await redis.GetServers()[0].InfoRawAsync("commandstats") ?? "";
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n'))
        {
            // cmdstat_get:calls=12,usec=34,...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal) && line.IndexOf(":calls=", StringComparison.Ordinal) is var at and > 0)
            {
                var end = line.IndexOf(',', at);
                calls[line[8..at]] = long.Parse(line[(at + 7)..end], CultureInfo.InvariantCulture);
            }
        }
        return calls;
    }

    private static Dictionary<string, long> Diff(Dictionary<string, long> after, Dictionary<string, long> before) =>
        after.ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key), StringComparer.Ordinal);

    /// <summary>Reads the intervention topic; when tracking, records the latency from the triggering event's production.</summary>
    private sealed class InterventionReader : IDisposable
    {
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();
        private ConcurrentDictionary<string, long>? _producedAt;
        private ConcurrentBag<double> _latencies = [];
        private long _count;

        public InterventionReader(string bootstrap, string topic)
        {
            var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
            {
                BootstrapServers = bootstrap, GroupId = $"bench-reader-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, FetchWaitMaxMs = 5,
            }).Build();
            consumer.Subscribe(topic);
            _thread = new Thread(() =>
            {
                using (consumer)
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is not { } r)
                        {
                            continue;
                        }
                        var arrived = Stopwatch.GetTimestamp();
                        Interlocked.Increment(ref _count);
                        if (_producedAt is { } map)
                        {
                            using var doc = JsonDocument.Parse(r.Message.Value);
                            var ids = doc.RootElement.GetProperty("data").GetProperty("trigger").GetProperty("eventIds");
                            var last = ids[ids.GetArrayLength() - 1].GetString()!;
                            if (map.TryGetValue(last, out var at))
                            {
                                _latencies.Add((arrived - at) * 1000.0 / Stopwatch.Frequency);
                            }
                        }
                    }
                    consumer.Close();
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Track(ConcurrentDictionary<string, long> producedAt)
        {
            _latencies = [];
            _producedAt = producedAt;
        }

        public ConcurrentBag<double> TakeLatencies() => Interlocked.Exchange(ref _latencies, []);

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
        }
    }
}
