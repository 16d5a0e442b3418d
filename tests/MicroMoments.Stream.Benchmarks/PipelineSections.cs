using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using StackExchange.Redis;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>What the pipeline sections measured, round by round (NaN where a section did not run).</summary>
public sealed record PipelineResults(IReadOnlyList<double> Ceilings, IReadOnlyList<double> EventsPerSecond, IReadOnlyDictionary<int, List<double>> P99)
{
    /// <summary>The pipeline's share of the ceiling, per round pair (each pipeline round against the ceiling read just before it).</summary>
    public IReadOnlyList<double> Ratios => EventsPerSecond.Zip(Ceilings, (e, c) => e / c).ToList();
}

/// <summary>
/// The whole worker on the embedded broker and Redis: the consume-only ceiling and throughput (producing while
/// consuming, and what a batch costs in CPU and Redis round trips) interleaved round by round, then latency at
/// fixed rates, round by round. The machine is shared, so a ratio is only taken between neighbouring rounds and
/// every figure is reported as the median of the rounds with their spread.
/// </summary>
public static class PipelineSections
{
    public const int Rounds = 3;
    private const int MaxLag = 100_000;
    private const int CeilingRecords = 200_000;

    public static async Task<PipelineResults> RunAsync(BenchInfrastructure infra, BenchmarkOptions o, bool throughput, bool latency, bool ceiling)
    {
        var events = o.Quick ? 200_000 : 1_000_000;
        var users = events / 20;
        infra.Topics("bench");
        var ceilingTopic = ceiling ? ProduceCeilingTopic(infra) : null;
        var ceilings = new List<double>();
        var rates = new List<double>();
        var p99 = new Dictionary<int, List<double>>();
        var generator = new EventMix(users, seed: 42);
        await using (var worker = await WorkerUnderTest.StartAsync(infra, "bench"))
        {
            using var reader = new InterventionReader(infra.Kafka.BootstrapServers, "bench-interventions");
            var warmUp = events / 10;
            if (throughput)
            {
                Console.WriteLine($"throughput: {events:N0} events and {users:N0} new users a round, {BenchInfrastructure.Partitions} partitions, Kafka = librdkafka mock cluster (in process), Redis = {infra.RedisKind}, {Environment.ProcessorCount} cores; {Rounds} rounds, each after a ceiling read");
                // A warm-up on other users first, so the figures are the steady state and not the JIT's first minutes.
                await ProduceAtMostAheadAsync(infra, worker, new EventMix(warmUp / 20, seed: 41, userPrefix: "warm-u"), warmUp);
                await Task.Delay(300); // the warm-up's last write
            }
            for (var round = 1; round <= (throughput || ceiling ? Rounds : 0); round++)
            {
                if (ceilingTopic is not null)
                {
                    ceilings.Add(ConsumeOnlyCeiling(infra, ceilingTopic));
                    Console.WriteLine($"round {round} ceiling: a consume-only loop reads {ceilings[^1]:N0} records/s from the same broker");
                }
                if (throughput)
                {
                    // New users each round: the same cold loads from Redis every round, as in round 1.
                    generator = new EventMix(users, seed: 42 + round, userPrefix: $"r{round}-u");
                    rates.Add(await ThroughputRoundAsync(infra, worker, reader, generator, events, round));
                }
                if (ceilingTopic is not null && throughput)
                {
                    Console.WriteLine(Stats.Invariant($"round {round}: pipeline / ceiling = {rates[^1] / ceilings[^1]:F2}"));
                }
            }
        }
        // After the throughput worker has left: each round brings its own (see LatencyRoundAsync).
        if (latency)
        {
            foreach (var rate in LatencyRates)
            {
                p99[rate] = [];
            }
            for (var round = 1; round <= Rounds; round++)
            {
                foreach (var rate in LatencyRates)
                {
                    // New users each run, ~25 events each: enough failed tasks to trigger, and no caps reached by
                    // the rounds before (the same users over three rounds fell from ~3,000 interventions to ~20).
                    var seconds = o.Quick ? 5 : 15;
                    var mix = new EventMix(rate * seconds / 25, seed: 100 * round + rate / 1000, userPrefix: $"l{round}-{rate / 1000}k-u");
                    p99[rate].Add(await LatencyRoundAsync(infra, mix, rate, seconds, round));
                }
            }
        }
        var results = new PipelineResults(ceilings.Count > 0 ? ceilings : [double.NaN], rates.Count > 0 ? rates : [double.NaN], p99);
        if (rates.Count > 0)
        {
            Console.WriteLine($"throughput: median {Stats.Spread(rates, "N0")} events/s over {rates.Count} rounds");
        }
        if (ceilings.Count > 0)
        {
            Console.WriteLine($"ceiling: median {Stats.Spread(ceilings, "N0")} records/s; the pipeline reaches a median {Stats.Spread(results.Ratios, "F2")} of it (ratio per neighbouring round pair)");
        }
        foreach (var (rate, values) in p99)
        {
            Console.WriteLine($"latency at {rate:N0} events/s: p99 median {Stats.Spread(values, "F1")} ms over {values.Count} rounds");
        }
        var bytesPerUser = await UserKeyBytesAsync(infra.RedisConfiguration, "mm:{bench-clickstream:*}:u:*", 1000);
        Console.WriteLine($"  redis: {bytesPerUser:F0} bytes per user key (MEMORY USAGE, mean of 1,000 sampled users of this run)");
        return results;
    }

    /// <summary>The rates latency is measured at: the summary's p99 is at the first.</summary>
    public static readonly int[] LatencyRates = [10_000, 20_000];

    /// <summary>Produces <paramref name="count"/> events, never more than <see cref="MaxLag"/> ahead of the worker, and waits until it has them all.</summary>
    private static async Task ProduceAtMostAheadAsync(BenchInfrastructure infra, WorkerUnderTest worker, EventMix mix, int count)
    {
        var before = worker.Total;
        for (var i = 0; i < count; i++)
        {
            while (before + i - worker.Total > MaxLag)
            {
                infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
            }
            var (user, body, _) = mix.Next(DateTimeOffset.UtcNow);
            infra.Produce("bench-clickstream", user, body);
        }
        infra.Producer.Flush();
        await worker.WaitForAsync(before + count, TimeSpan.FromMinutes(5));
    }

    /// <summary>One throughput round: produces while the worker consumes; returns events/s from its first to its last record.</summary>
    private static async Task<double> ThroughputRoundAsync(BenchInfrastructure infra, WorkerUnderTest worker, InterventionReader reader, EventMix generator, int events, int round)
    {
        var before = worker.Total;
        var commandsBefore = await CommandStatsAsync(infra.RedisConfiguration);
        // INFO stats is read from redis-server only (CapacityInputs takes no figure under Garnet).
        var measuresRedis = infra.RedisProcess is not null;
        var netBefore = measuresRedis ? await NetBytesAsync(infra.RedisConfiguration) : 0;
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
                while (before + i - worker.Total > MaxLag)
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
        await worker.WaitForAsync(before + events, TimeSpan.FromMinutes(5));
        var used = CpuSample.Take(infra) - cpu;
        var byThread = ThreadGroups.Take().Describe(threads, events, "event");
        var seconds = (worker.LastAt - worker.FirstAt).TotalSeconds;
        var eventsPerSecond = events / Math.Max(0.001, seconds);
        var batches = Math.Max(1, worker.Batches - batchesBefore);
        Console.WriteLine($"round {round} throughput: {events:N0} events in {seconds:F2} s = {eventsPerSecond:N0} events/s end to end (produced in {produceSeconds:F2} s); {reader.Count - interventionsBefore:N0} interventions; {batches:N0} batches, mean {events / batches:N0} events/batch");
        Console.WriteLine($"  {used.Describe(events, "event")} (the process holds the worker, the broker and the load producer)");
        Console.WriteLine($"  CPU by thread: {byThread}; load producer {producerNanos / 1000.0 / events:F1} µs/event");
        var calls = worker.RedisCalls.ToDictionary(c => c.Key, c => c.Value - callsBefore.GetValueOrDefault(c.Key));
        Console.WriteLine($"  redis round trips per batch (client, by operation): {string.Join(", ", calls.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value / (double)batches:F1}"))}; total {calls.Values.Sum() / (double)batches:F1}");
        var ms = worker.Seconds.ToDictionary(c => c.Key, c => (c.Value - secondsBefore.GetValueOrDefault(c.Key)) * 1000 / batches);
        Console.WriteLine($"  per batch: {ms.GetValueOrDefault("batch"):F1} ms in the loop (parse to write started); Redis wall time {string.Join(", ", ms.Where(m => m.Key.StartsWith("redis ", StringComparison.Ordinal)).OrderBy(m => m.Key).Select(m => $"{m.Key[6..]} {m.Value:F1}"))} ms (load and due_timers hold the loop; write overlaps the next batch)");
        var commands = Diff(await CommandStatsAsync(infra.RedisConfiguration), commandsBefore);
        Console.WriteLine($"  redis commands per batch (server, scripts' inner calls included): {string.Join(", ", commands.Where(c => c.Value >= batches).OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value / (double)batches:F0}"))}");
        if (measuresRedis)
        {
            var net = await NetBytesAsync(infra.RedisConfiguration) - netBefore;
            Console.WriteLine($"  redis network: {net / (double)events:F0} B per event (in and out, INFO stats)");
            // The capacity model's inputs: the worker's CPU without the load producer's (the in-process broker's stays in: conservative).
            CapacityInputs.Add(infra, "worker_us_per_event", (used.Process.TotalMicroseconds - producerNanos / 1000.0) / events);
            CapacityInputs.Add(infra, "redis_us_per_event", used.Redis.TotalMicroseconds / events);
            CapacityInputs.Add(infra, "redis_commands_per_event", commands.Where(c => c.Value > 0).Sum(c => c.Value) / (double)events);
            CapacityInputs.Add(infra, "redis_net_bytes_per_event", net / (double)events);
        }
        return eventsPerSecond;
    }

    /// <summary>A fixed rate, timing each intervention from its triggering event's production to its arrival on the output topic.</summary>
    /// <summary>
    /// One latency round on topics of its own, read by a worker of its own (the process is warm; the worker joins
    /// first). The mock broker finds a fetch's offset by walking the partition's message sets from the oldest
    /// (librdkafka's <c>rd_kafka_mock_msgset_find</c>: "FIXME: Maintain an index"), and paced producing leaves
    /// thousands of tiny sets: on one long-lived topic each round was slower than the one before, with a third of
    /// the process's CPU in that walk. A real broker indexes its log, and does not run on the worker's cores.
    /// </summary>
    private static async Task<double> LatencyRoundAsync(BenchInfrastructure infra, EventMix generator, int rate, int seconds, int round)
    {
        var section = $"latency{round}-{rate / 1000}k";
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output);
        await using var worker = await WorkerUnderTest.StartAsync(infra, section);
        await worker.WaitUntilAssignedAsync(reader, TimeSpan.FromSeconds(60));
        using (var admin = new DependentAdminClientBuilder(infra.Producer.Handle).Build())
        {
            admin.GetMetadata(input, TimeSpan.FromSeconds(10)); // not timed: the load producer's first record would wait for it
        }
        return await LatencyAsync(infra, worker, reader, generator, input, rate, seconds, round);
    }

    private static async Task<double> LatencyAsync(BenchInfrastructure infra, WorkerUnderTest worker, InterventionReader reader, EventMix generator, string input, int rate, int seconds, int round)
    {
        var producedAt = new ConcurrentDictionary<string, long>();
        reader.Track(producedAt);
        var before = worker.Total;
        var paced = rate * seconds;
        worker.TakeBatchMillis();
        var cpu = CpuSample.Take(infra);
        PacedLoad.Run(rate, seconds, () =>
        {
            var (user, body, messageId) = generator.Next(DateTimeOffset.UtcNow);
            producedAt[messageId] = Stopwatch.GetTimestamp();
            infra.Producer.Produce(input, new Message<string, byte[]> { Key = user, Value = body });
        });
        infra.Producer.Flush();
        await worker.WaitForAsync(before + paced, TimeSpan.FromMinutes(2));
        await Task.Delay(500); // let the last interventions arrive at the reader
        var used = CpuSample.Take(infra) - cpu;
        var latencies = reader.TakeLatencies().Order().ToArray();
        var batches = worker.TakeBatchMillis();
        Console.WriteLine($"round {round} latency at {rate:N0} events/s for {seconds} s: {latencies.Length:N0} interventions, p50 {Stats.Percentile(latencies, 0.50):F1} ms, p99 {Stats.Percentile(latencies, 0.99):F1} ms, max {latencies.LastOrDefault():F1} ms (event produced → intervention consumed); {used.Describe(paced, "event")}");
        Console.WriteLine($"  {batches.Length:N0} batches of {paced / Math.Max(1.0, batches.Length):F0} events on average, each {Stats.Percentile(batches, 0.5):F1} ms in the loop at p50, {Stats.Percentile(batches, 0.99):F1} ms at p99");
        return Stats.Percentile(latencies, 0.99);
    }

    /// <summary>Fills the ceiling's topic once; every round reads all of it with a new group.</summary>
    private static string ProduceCeilingTopic(BenchInfrastructure infra)
    {
        const string topic = "bench-ceiling";
        infra.Kafka.CreateTopic(topic, BenchInfrastructure.Partitions);
        var generator = new EventMix(CeilingRecords / 20, seed: 7);
        for (var i = 0; i < CeilingRecords; i++)
        {
            var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
            infra.Produce(topic, user, body);
        }
        infra.Producer.Flush();
        return topic;
    }

    /// <summary>The ceiling: a consume-only loop over the same broker, same client settings, the worker idle.</summary>
    private static double ConsumeOnlyCeiling(BenchInfrastructure infra, string topic)
    {
        var config = KafkaClientConfigs.Consumer(new KafkaOptions { BootstrapServers = infra.Kafka.BootstrapServers, GroupId = $"ceiling-{Guid.NewGuid():N}" });
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        consumer.Subscribe(topic);
        var read = 0;
        var sw = new Stopwatch();
        while (read < CeilingRecords)
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
        var perSecond = CeilingRecords / sw.Elapsed.TotalSeconds;
        consumer.Close();
        return perSecond;
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

    /// <summary>Bytes the server has read and written on the network since it started (INFO stats).</summary>
    private static async Task<long> NetBytesAsync(string config) =>
        (await InfoFieldsAsync(config, "stats", "total_net_input_bytes", "total_net_output_bytes")).Sum();

    /// <summary>Numeric fields of one INFO <paramref name="section"/>, read at once; a missing field is an error, not a zero.</summary>
    public static async Task<long[]> InfoFieldsAsync(string config, string section, params string[] fields)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(config + ",allowAdmin=true");
        var lines = (await redis.GetServers()[0].InfoRawAsync(section) ?? "").Split('\n');
        return fields.Select(field =>
        {
            var line = lines.FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"INFO {section} has no {field}");
            return long.Parse(line[(field.Length + 1)..].Trim(), CultureInfo.InvariantCulture);
        }).ToArray();
    }

    private static Dictionary<string, long> Diff(Dictionary<string, long> after, Dictionary<string, long> before) =>
        after.ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key), StringComparer.Ordinal);
}
