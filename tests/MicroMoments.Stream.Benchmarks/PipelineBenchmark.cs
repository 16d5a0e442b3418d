using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// Pushes events through the whole worker (embedded Kafka-protocol broker, real redis-server when
/// installed) and prints figures: events/s at full speed, then event→intervention latency at a fixed rate.
/// </summary>
public static class PipelineBenchmark
{
    private const int Partitions = 12;
    private const int MaxLag = 100_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var events = quick ? 200_000 : 1_000_000;
        var users = events / 20;
        var rate = 10_000;
        var rateSeconds = quick ? 5 : 15;

        using var kafka = EmbeddedKafkaCluster.Start();
        var (redisConfig, redisKind, redisProcess) = StartRedis(useGarnet: args.Contains("--garnet"));
        using var _ = redisProcess;
        var input = "bench-clickstream";
        var output = "bench-interventions";
        kafka.CreateTopic(input, Partitions);
        kafka.CreateTopic(output, Partitions);
        kafka.CreateTopic("bench-deadletter", 1);

        var processed = new ProcessedCounter();
        var (host, infra) = WorkerCommands.BuildWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["MicroMoments:Kafka:BootstrapServers"] = kafka.BootstrapServers,
                ["MicroMoments:Kafka:InputTopics:0"] = input,
                ["MicroMoments:Kafka:OutputTopic"] = output,
                ["MicroMoments:Kafka:DeadLetterTopic"] = "bench-deadletter",
                ["MicroMoments:Redis:Configuration"] = redisConfig,
                ["MicroMoments:Demo:Enabled"] = "false",
                ["urls"] = "http://127.0.0.1:0",
            });
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        infra.Dispose();
        using var reader = new InterventionReader(kafka.BootstrapServers, output);
        await host.StartAsync();

        Console.WriteLine($"pipeline benchmark: {events:N0} events, {users:N0} users, {Partitions} partitions, Kafka = librdkafka mock cluster, Redis = {redisKind}, {Environment.ProcessorCount} cores");

        // Phase 1: as fast as the pipeline goes, producing while it consumes.
        var producedAt = new ConcurrentDictionary<string, long>();
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers, LingerMs = 5, BatchNumMessages = 10_000, QueueBufferingMaxMessages = 500_000,
        }).Build();
        var sw = Stopwatch.StartNew();
        var generator = new EventMix(users, seed: 42);
        for (var i = 0; i < events; i++)
        {
            // The mock broker keeps ~5 MiB per partition: stay at most MaxLag records ahead of the worker.
            while (i - processed.Total > MaxLag)
            {
                producer.Poll(TimeSpan.FromMilliseconds(2));
            }
            var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
            ProduceWithBackpressure(producer, input, user, body);
        }
        producer.Flush();
        var produceSeconds = sw.Elapsed.TotalSeconds;
        await processed.WaitForAsync(events, TimeSpan.FromMinutes(5));
        var throughputSeconds = processed.LastAt!.Value.TotalSeconds - processed.FirstAt!.Value.TotalSeconds;
        var eventsPerSecond = events / Math.Max(0.001, processed.LastAt!.Value.TotalSeconds - processed.FirstAt!.Value.TotalSeconds);
        Console.WriteLine($"throughput: {events:N0} events in {throughputSeconds:F2} s = {eventsPerSecond:N0} events/s end to end (produced in {produceSeconds:F2} s); {reader.Count:N0} interventions; batches {processed.Batches:N0}, mean {events / Math.Max(1, processed.Batches):N0} events/batch");

        // Phase 2: a fixed rate, timing each intervention from its triggering event's production to its arrival on the output topic.
        reader.Track(producedAt);
        var before = processed.Total;
        var paced = rate * rateSeconds;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < paced; i++)
        {
            var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.SpinWait(50);
            }
            var (user, body, messageId) = generator.Next(DateTimeOffset.UtcNow);
            producedAt[messageId] = Stopwatch.GetTimestamp();
            producer.Produce(input, new Message<string, byte[]> { Key = user, Value = body });
        }
        producer.Flush();
        await processed.WaitForAsync(before + paced, TimeSpan.FromMinutes(2));
        await Task.Delay(500); // let the last interventions arrive at the reader
        var latencies = reader.Latencies.Order().ToArray();
        Console.WriteLine($"latency at {rate:N0} events/s for {rateSeconds} s: {latencies.Length:N0} interventions, p50 {Percentile(latencies, 0.50):F1} ms, p99 {Percentile(latencies, 0.99):F1} ms, max {latencies.LastOrDefault():F1} ms (event produced → intervention consumed)");

        var bytesPerUser = await BytesPerUserAsync(redisConfig);
        Console.WriteLine($"redis: {bytesPerUser:F0} bytes per user (MEMORY USAGE, mean of sampled user keys)");
        await host.StopAsync();
        host.Dispose();

        // The ceiling: a consume-only loop over the same broker, same client settings, nothing else running.
        var ceiling = ConsumeOnlyCeiling(kafka, producer, generator, Math.Min(events, 200_000));
        Console.WriteLine($"ceiling: a consume-only loop reads {ceiling:N0} records/s from the same broker; the pipeline reaches {eventsPerSecond / ceiling:P0} of it");
        Console.WriteLine($"events_per_s={eventsPerSecond:F0} ceiling_ratio={eventsPerSecond / ceiling:F2} p99_ms={Percentile(latencies, 0.99):F1}");
        return 0;
    }

    /// <summary>Produces, waiting for room when the client's queue is full.</summary>
    internal static void ProduceWithBackpressure(IProducer<string, byte[]> producer, string topic, string key, byte[] value)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<string, byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(5));
            }
        }
    }

    private static double ConsumeOnlyCeiling(EmbeddedKafkaCluster kafka, IProducer<string, byte[]> producer, EventMix generator, int count)
    {
        const string topic = "bench-ceiling";
        kafka.CreateTopic(topic, Partitions);
        for (var i = 0; i < count; i++)
        {
            var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
            ProduceWithBackpressure(producer, topic, user, body);
        }
        producer.Flush();
        var config = KafkaClientConfigs.Consumer(new KafkaOptions { BootstrapServers = kafka.BootstrapServers, GroupId = $"ceiling-{Guid.NewGuid():N}" });
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
        var rate = count / sw.Elapsed.TotalSeconds;
        consumer.Close();
        return rate;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static async Task<double> BytesPerUserAsync(string config)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(config + ",allowAdmin=true");
        var server = redis.GetServers()[0];
        var db = redis.GetDatabase();
        var sizes = new List<long>();
        foreach (var key in server.Keys(pattern: "mm:{*}:u:*", pageSize: 500).Take(1000))
        {
            var r = await db.ExecuteAsync("MEMORY", "USAGE", key);
            if (!r.IsNull)
            {
                sizes.Add((long)r);
            }
        }
        return sizes.Count == 0 ? double.NaN : sizes.Average();
    }

    internal static (string Config, string Kind, IDisposable? Process) StartRedis(bool useGarnet)
    {
        if (useGarnet)
        {
            var embedded = EmbeddedRedisServer.Start();
            return (embedded.Configuration, "embedded Garnet (in-process)", embedded);
        }
        if (Environment.GetEnvironmentVariable("MicroMoments__Redis__Configuration") is { Length: > 0 } configured)
        {
            return (configured, "configured Redis", null);
        }
        var port = FreePort();
        try
        {
            var p = Process.Start(new ProcessStartInfo("redis-server", ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
            })!;
            p.BeginOutputReadLine();
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    using var probe = ConnectionMultiplexer.Connect($"127.0.0.1:{port},connectTimeout=200");
                    return ($"127.0.0.1:{port}", "redis-server (separate process)", new KillOnDispose(p));
                }
                catch (RedisConnectionException)
                {
                    Thread.Sleep(25); // polling for the server's listener, a start-up wait outside any measurement
                }
            }
            throw new InvalidOperationException("redis-server did not answer");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            var garnet = EmbeddedRedisServer.Start();
            return (garnet.Configuration, "embedded Garnet (redis-server not installed)", garnet);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private sealed class KillOnDispose(Process p) : IDisposable
    {
        public void Dispose()
        {
            p.Kill();
            p.WaitForExit();
            p.Dispose();
        }
    }

    /// <summary>Counts records the worker reports as received, through its own metric.</summary>
    private sealed class ProcessedCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _total;
        private long _batches;

        public ProcessedCounter()
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == "MicroMoments.Stream.Pipeline" && i.Name is "micromoments.stream.events.consumed" or "micromoments.stream.batch.duration")
                {
                    l.EnableMeasurementEvents(i);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
            {
                foreach (var t in tags)
                {
                    if (t.Key == "outcome" && (string?)t.Value == "received" && value > 0)
                    {
                        FirstAt ??= _clock.Elapsed;
                        Interlocked.Add(ref _total, value);
                        LastAt = _clock.Elapsed;
                    }
                }
            });
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _batches));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);
        public long Batches => Interlocked.Read(ref _batches);
        public TimeSpan? FirstAt { get; private set; }
        public TimeSpan? LastAt { get; private set; }

        public async Task WaitForAsync(long count, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (Total < count)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"processed {Total:N0} of {count:N0}");
                }
                await Task.Delay(20);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A steady clickstream: mostly feature use and views, with failing-task triples that trigger interventions.</summary>
    internal sealed class EventMix(int users, int seed)
    {
        private static readonly string[] Features = ["dashboard", "reports", "automations", "search", "exports", "api-keys"];
        private readonly Random _random = new(seed);
        private long _sequence;

        public (string User, byte[] Body, string MessageId) Next(DateTimeOffset now)
        {
            var n = _sequence++;
            var user = $"bench-u{_random.Next(users)}";
            var id = $"m{n}";
            var ts = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            var roll = _random.Next(100);
            object body = roll switch
            {
                < 60 => new { type = "track", @event = "Feature Used", userId = user, messageId = id, timestamp = ts, properties = new { feature = Features[_random.Next(Features.Length)] } },
                < 80 => new { type = "screen", name = "Home", userId = user, messageId = id, timestamp = ts },
                _ => new { type = "track", @event = "Task Failed", userId = user, messageId = id, timestamp = ts, properties = new { task = "notifications-setup" } },
            };
            return (user, JsonSerializer.SerializeToUtf8Bytes(body), id);
        }
    }

    /// <summary>Reads the intervention topic; when tracking, records the latency from the triggering event's production.</summary>
    private sealed class InterventionReader : IDisposable
    {
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();
        private ConcurrentDictionary<string, long>? _producedAt;
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
                                Latencies.Add((arrived - at) * 1000.0 / Stopwatch.Frequency);
                            }
                        }
                    }
                    consumer.Close();
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public ConcurrentBag<double> Latencies { get; } = [];
        public long Count => Interlocked.Read(ref _count);

        public void Track(ConcurrentDictionary<string, long> producedAt) => _producedAt = producedAt;

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
        }
    }
}
