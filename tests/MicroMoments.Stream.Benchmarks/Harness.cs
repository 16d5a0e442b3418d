using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>The broker (in process) and Redis (a separate redis-server when installed) every section runs against.</summary>
public sealed class BenchInfrastructure : IDisposable
{
    public const int Partitions = 12;
    private readonly IDisposable? _redisHandle;

    private BenchInfrastructure(EmbeddedKafkaCluster kafka, string redisConfig, string redisKind, IDisposable? redisHandle, Process? redisProcess)
    {
        Kafka = kafka;
        RedisConfiguration = redisConfig;
        RedisKind = redisKind;
        _redisHandle = redisHandle;
        RedisProcess = redisProcess;
        Producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers, Partitioner = KafkaClientConfigs.KeyPartitioner, LingerMs = 5, BatchNumMessages = 10_000, QueueBufferingMaxMessages = 500_000,
        }).Build();
    }

    public EmbeddedKafkaCluster Kafka { get; }
    public string RedisConfiguration { get; }
    public string RedisKind { get; }

    /// <summary>The redis-server process, to read its CPU time; null for Garnet or a configured server.</summary>
    public Process? RedisProcess { get; }

    /// <summary>The load producer: in process, so it shares the two cores with the worker.</summary>
    public IProducer<string, byte[]> Producer { get; }

    public static BenchInfrastructure Start(bool useGarnet)
    {
        var kafka = EmbeddedKafkaCluster.Start();
        var (config, kind, handle, process) = StartRedis(useGarnet);
        return new BenchInfrastructure(kafka, config, kind, handle, process);
    }

    /// <summary>Creates the section's topics: input with 12 partitions, output, dead letters.</summary>
    public (string Input, string Output) Topics(string section)
    {
        var input = $"{section}-clickstream";
        var output = $"{section}-interventions";
        Kafka.CreateTopic(input, Partitions);
        Kafka.CreateTopic(output, Partitions);
        Kafka.CreateTopic($"{section}-deadletter", 1);
        return (input, output);
    }

    /// <summary>Produces, waiting for room when the client's queue is full.</summary>
    public void Produce(string topic, string key, byte[] value)
    {
        while (true)
        {
            try
            {
                Producer.Produce(topic, new Message<string, byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                Producer.Poll(TimeSpan.FromMilliseconds(5));
            }
        }
    }

    public async Task FlushRedisAsync()
    {
        // After the throughput and timer sections Redis holds millions of keys: flushing them takes longer than the
        // client's default 5 s timeout.
        using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration + ",allowAdmin=true,syncTimeout=120000,asyncTimeout=120000");
        await redis.GetServers()[0].FlushAllDatabasesAsync();
    }

    public void Dispose()
    {
        Producer.Dispose();
        Kafka.Dispose();
        _redisHandle?.Dispose();
    }

    private static (string Config, string Kind, IDisposable? Handle, Process? Process) StartRedis(bool useGarnet)
    {
        if (useGarnet)
        {
            var embedded = EmbeddedRedisServer.Start();
            return (embedded.Configuration, "embedded Garnet (in-process)", embedded, null);
        }
        if (Environment.GetEnvironmentVariable("MicroMoments__Redis__Configuration") is { Length: > 0 } configured)
        {
            return (configured, "configured Redis", null, null);
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
                    return ($"127.0.0.1:{port}", "redis-server (separate process)", new KillOnDispose(p), p);
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
            return (garnet.Configuration, "embedded Garnet (redis-server not installed)", garnet, null);
        }
    }

    internal static int FreePort()
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
}

/// <summary>CPU time of this process and of redis-server: the cost of a phase, whatever else shares the machine.</summary>
public readonly record struct CpuSample(TimeSpan Process, TimeSpan Redis, long Ticks, int Gen0, int Gen1, int Gen2, TimeSpan GcPause)
{
    public static CpuSample Take(BenchInfrastructure infra)
    {
        var redis = TimeSpan.Zero;
        if (infra.RedisProcess is { } p)
        {
            p.Refresh();
            redis = p.TotalProcessorTime;
        }
        return new CpuSample(Environment.CpuUsage.TotalTime, redis, Stopwatch.GetTimestamp(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
    }

    public static CpuDelta operator -(CpuSample after, CpuSample before) =>
        new(after.Process - before.Process, after.Redis - before.Redis, Stopwatch.GetElapsedTime(before.Ticks, after.Ticks),
            $"{after.Gen0 - before.Gen0}/{after.Gen1 - before.Gen1}/{after.Gen2 - before.Gen2} gen0/1/2 GCs, {(after.GcPause - before.GcPause).TotalMilliseconds:F0} ms paused");
}

/// <summary>CPU used over a wall-clock interval.</summary>
public readonly record struct CpuDelta(TimeSpan Process, TimeSpan Redis, TimeSpan Wall, string Gc)
{
    /// <summary>Microseconds of CPU (this process + redis-server) per unit of work.</summary>
    public double MicrosPer(long n) => n == 0 ? double.NaN : (Process + Redis).TotalMicroseconds / n;

    public string Describe(long n, string unit) => string.Create(CultureInfo.InvariantCulture,
        $"CPU {MicrosPer(n):F1} µs/{unit} (worker process {Process.TotalMicroseconds / Math.Max(1, n):F1} + redis-server {Redis.TotalMicroseconds / Math.Max(1, n):F1}), {(Process + Redis).TotalSeconds / Math.Max(0.001, Wall.TotalSeconds):F2} cores busy; {Gc}");
}

/// <summary>A clock the benchmark can move forward, so timers armed now come due on cue.</summary>
public sealed class ShiftableClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

/// <summary>The whole worker host on the section's topics, with what its own metrics report.</summary>
public sealed class WorkerUnderTest : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly MeterListener _listener = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _total;
    private long _applied;
    private long _batches;
    private long _timersFired;
    private long _firstAtTicks = -1;
    private long _lastAtTicks;
    private long _firstFireTicks = -1;
    private long _lastFireTicks;
    private long _firstBatchEnd;
    private long _firstBatchMicros;

    private WorkerUnderTest(IHost host)
    {
        _host = host;
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == "MicroMoments.Stream.Pipeline" && i.Name is "micromoments.stream.events.consumed" or "micromoments.stream.batch.duration"
                    or "micromoments.stream.timers.fired" or "micromoments.stream.timers.fire_lag"
                || i.Meter.Name == "MicroMoments.Stream.Redis")
            {
                l.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
        {
            if (i.Name == "micromoments.stream.timers.fired")
            {
                Interlocked.CompareExchange(ref _firstFireTicks, _clock.Elapsed.Ticks, -1);
                Interlocked.Add(ref _timersFired, value);
                Interlocked.Exchange(ref _lastFireTicks, _clock.Elapsed.Ticks);
                return;
            }
            foreach (var t in tags)
            {
                if (t.Key == "outcome" && (string?)t.Value == "applied")
                {
                    Interlocked.Add(ref _applied, value);
                }
                if (t.Key == "outcome" && (string?)t.Value == "received" && value > 0)
                {
                    Interlocked.CompareExchange(ref _firstAtTicks, _clock.Elapsed.Ticks, -1);
                    Interlocked.Add(ref _total, value);
                    Interlocked.Exchange(ref _lastAtTicks, _clock.Elapsed.Ticks);
                }
            }
        });
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) =>
        {
            switch (i.Name)
            {
                case "micromoments.stream.batch.duration":
                    Interlocked.CompareExchange(ref _firstBatchEnd, Stopwatch.GetTimestamp(), 0);
                    if (Interlocked.Read(ref _firstBatchEnd) != 0)
                    {
                        Interlocked.CompareExchange(ref _firstBatchMicros, (long)(value * 1e6), 0);
                    }
                    Interlocked.Increment(ref _batches);
                    Seconds.AddOrUpdate("batch", value, (_, total) => total + value);
                    BatchMillis.Add(value * 1000);
                    break;
                case "micromoments.stream.timers.fire_lag":
                    FireLags.Add(value * 1000);
                    break;
                case "micromoments.stream.redis.duration":
                    foreach (var t in tags)
                    {
                        if (t.Key == "operation")
                        {
                            RedisCalls.AddOrUpdate((string)t.Value!, 1, (_, n) => n + 1);
                            Seconds.AddOrUpdate("redis " + (string)t.Value!, value, (_, total) => total + value);
                        }
                    }
                    break;
            }
        });
        _listener.Start();
    }

    /// <summary>Starts a new measuring window: <see cref="FirstAt"/> is the first record received after this.</summary>
    public void StartWindow() => Interlocked.Exchange(ref _firstAtTicks, -1);

    public long Total => Interlocked.Read(ref _total);

    /// <summary>Records decided (the pipeline's <c>applied</c> count): through the rules, not yet saved, produced or committed.</summary>
    public long Applied => Interlocked.Read(ref _applied);

    /// <summary>Makes the next batch the one <see cref="FirstBatch"/> reports.</summary>
    public void ResetFirstBatch()
    {
        Interlocked.Exchange(ref _firstBatchMicros, 0);
        Interlocked.Exchange(ref _firstBatchEnd, 0);
    }

    /// <summary>The first batch: when its loop time ended (a <see cref="Stopwatch"/> timestamp, 0 before) and how long it took.</summary>
    public (long EndedAt, TimeSpan Took) FirstBatch => (Interlocked.Read(ref _firstBatchEnd), TimeSpan.FromTicks(Interlocked.Read(ref _firstBatchMicros) * 10));
    public long Batches => Interlocked.Read(ref _batches);
    public long TimersFired => Interlocked.Read(ref _timersFired);
    public TimeSpan FirstAt => TimeSpan.FromTicks(Interlocked.Read(ref _firstAtTicks));
    public TimeSpan LastAt => TimeSpan.FromTicks(Interlocked.Read(ref _lastAtTicks));
    public TimeSpan FiringSpan => TimeSpan.FromTicks(Interlocked.Read(ref _lastFireTicks) - Interlocked.Read(ref _firstFireTicks));

    /// <summary>Timer due time → fired, in ms, as the worker's <c>timers.fire_lag</c> histogram records it.</summary>
    public ConcurrentBag<double> FireLags { get; } = [];

    /// <summary>Redis calls by operation (load, write, due_timers, acquire, population), from the worker's Redis meter.</summary>
    public ConcurrentDictionary<string, long> RedisCalls { get; } = new(StringComparer.Ordinal);

    /// <summary>Each batch's time in the loop (ms), as the worker's <c>batch.duration</c> histogram records it.</summary>
    public ConcurrentBag<double> BatchMillis { get; private set; } = [];

    /// <summary>Takes the batch times recorded so far and starts a new collection.</summary>
    public double[] TakeBatchMillis()
    {
        var taken = BatchMillis;
        BatchMillis = [];
        return taken.Order().ToArray();
    }

    /// <summary>Wall seconds summed: "batch" (the loop's batch time) and "redis &lt;operation&gt;".</summary>
    public ConcurrentDictionary<string, double> Seconds { get; } = new(StringComparer.Ordinal);

    public IServiceProvider Services => _host.Services;

    public static async Task<WorkerUnderTest> StartAsync(BenchInfrastructure infra, string section, string? rulesPath = null, TimeProvider? clock = null,
        IDictionary<string, string?>? extra = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["MicroMoments:Kafka:BootstrapServers"] = infra.Kafka.BootstrapServers,
            ["MicroMoments:Kafka:InputTopics:0"] = $"{section}-clickstream",
            ["MicroMoments:Kafka:OutputTopic"] = $"{section}-interventions",
            ["MicroMoments:Kafka:DeadLetterTopic"] = $"{section}-deadletter",
            ["MicroMoments:Kafka:GroupId"] = $"bench-{section}",
            ["MicroMoments:Redis:Configuration"] = infra.RedisConfiguration,
            ["MicroMoments:Demo:Enabled"] = "false",
            ["urls"] = "http://127.0.0.1:0",
        };
        if (rulesPath is not null)
        {
            config["MicroMoments:Rules:Path"] = rulesPath;
        }
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            config[k] = v;
        }
        var (host, embedded) = WorkerCommands.BuildWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(config);
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            b.Logging.AddFilter("MicroMoments", LogLevel.Warning);
            if (clock is not null)
            {
                b.Services.AddSingleton(clock);
            }
        });
        embedded.Dispose();
        var worker = new WorkerUnderTest(host);
        await host.StartAsync();
        return worker;
    }

    /// <summary>Waits until the worker owns every partition and <paramref name="reader"/> reads the output topic.</summary>
    internal async Task WaitUntilAssignedAsync(InterventionReader reader, TimeSpan timeout)
    {
        var health = Services.GetRequiredService<Worker.Pipeline.PipelineHealth>();
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (health.Partitions < BenchInfrastructure.Partitions || !reader.Assigned)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the worker owns {health.Partitions} partitions, the reader is {(reader.Assigned ? "" : "not ")}assigned");
            }
            await Task.Delay(10);
        }
    }

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

    public async Task WaitForTimersAsync(long count, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (TimersFired < count && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _listener.Dispose();
    }
}

/// <summary>Small statistics helpers.</summary>
public static class Stats
{
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The median (the mean of the middle two for an even count); NaN for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>"median (min–max)" in <paramref name="format"/>: the rounds' spread shows how noisy the machine was.</summary>
    public static string Spread(IReadOnlyCollection<double> values, string format) =>
        values.Count == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture,
            $"{Median(values).ToString(format, CultureInfo.InvariantCulture)} ({values.Min().ToString(format, CultureInfo.InvariantCulture)}–{values.Max().ToString(format, CultureInfo.InvariantCulture)})");
}

/// <summary>CPU time of this process's threads grouped by what they do, read from /proc (Linux only; empty elsewhere).</summary>
public sealed class ThreadGroups
{
    private readonly Dictionary<string, long> _ticks;

    private ThreadGroups(Dictionary<string, long> ticks) => _ticks = ticks;

    /// <summary>The name the load producer's thread carries (its CPU is measured on the thread itself).</summary>
    public const string LoadProducer = "load producer";

    public static ThreadGroups Take()
    {
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!OperatingSystem.IsLinux())
        {
            return new ThreadGroups(ticks);
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                // Fields 14 and 15 of stat (utime, stime); fields[0] here is field 3.
                var used = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                var group = Group(stat[(open + 1)..close]);
                ticks[group] = ticks.GetValueOrDefault(group) + used;
            }
            catch (IOException)
            {
                // the thread ended
            }
        }
        return new ThreadGroups(ticks);
    }

    private static string Group(string name) => name switch
    {
        _ when name.StartsWith(".NET TP Worker", StringComparison.Ordinal) || name.StartsWith(".NET Long Runni", StringComparison.Ordinal) => "worker (pipeline, Redis client)",
        _ when name.StartsWith(".NET Server GC", StringComparison.Ordinal) || name.StartsWith(".NET BGC", StringComparison.Ordinal) || name.StartsWith(".NET GC", StringComparison.Ordinal) => "GC",
        _ when name.StartsWith(".NET Tiered", StringComparison.Ordinal) => "JIT",
        _ when name.StartsWith("rdk:", StringComparison.Ordinal) => "librdkafka (clients and mock broker)",
        _ => "other",
    };

    /// <summary>µs per unit of work by group, largest first (with <paramref name="suffix"/>: µs divided by <paramref name="n"/>, so labelled).</summary>
    public string Describe(ThreadGroups before, long n, string unit, string? suffix = null)
    {
        var tick = 1_000_000.0 / 100; // USER_HZ
        var parts = _ticks.Select(g => (g.Key, Micros: (g.Value - before._ticks.GetValueOrDefault(g.Key)) * tick / Math.Max(1, n)))
            .Where(g => g.Micros > 0).OrderByDescending(g => g.Micros);
        return string.Join(", ", parts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Micros:F1}"))) + (suffix ?? $" µs/{unit}");
    }
}

/// <summary>The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID on Linux; wall time elsewhere).</summary>
public static class ThreadCpu
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec ts);

    public static long Now()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(3, out var ts) == 0)
        {
            return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
        }
        return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
    }
}
