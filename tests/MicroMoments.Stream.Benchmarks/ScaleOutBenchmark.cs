using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// One worker process against two on the same machine: the same broker, Redis and event mix, a fresh
/// topic and group for each run, and throughput read from the group's committed offsets while a producer
/// keeps the workers busy. Prints events/s for each and their ratio.
/// </summary>
public static class ScaleOutBenchmark
{
    private const int Partitions = 12;
    private const int MaxLag = 100_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var events = args.Contains("--quick") ? 300_000 : 800_000;
        using var infra = BenchInfrastructure.Start(useGarnet: false);
        Console.WriteLine($"scale-out benchmark: {events:N0} events per run, {Partitions} partitions, worker processes on {Environment.ProcessorCount} cores, Kafka = librdkafka mock cluster, Redis = {infra.RedisKind}");
        var one = await MeasureAsync(infra, processes: 1, events);
        var two = await MeasureAsync(infra, processes: 2, events);
        Console.WriteLine($"scale_out one_process_events_per_s={one:F0} two_processes_events_per_s={two:F0} ratio={two / one:F2}");
        return 0;
    }

    private static async Task<double> MeasureAsync(BenchInfrastructure infra, int processes, int events)
    {
        var kafka = infra.Kafka;
        var redisConfig = infra.RedisConfiguration;
        var run = $"scale{processes}-{Guid.NewGuid():N}"[..20];
        var input = $"{run}-in";
        kafka.CreateTopic(input, Partitions);
        kafka.CreateTopic($"{run}-out", Partitions);
        kafka.CreateTopic($"{run}-dlq", 1);
        var workers = Enumerable.Range(0, processes).Select(i => StartWorker(kafka.BootstrapServers, redisConfig, run, input)).ToList();
        try
        {
            foreach (var w in workers)
            {
                await w.WaitReadyAsync(TimeSpan.FromSeconds(60));
            }
            using var progress = new GroupProgress(kafka.BootstrapServers, run, input, Partitions);
            var producer = infra.Producer;
            var generator = new EventMix(events / 20, seed: 7);
            var samples = new List<(double Seconds, long Committed)>();
            var clock = Stopwatch.StartNew();
            var committed = 0L;
            var nextSample = TimeSpan.Zero;
            for (var i = 0; i < events || committed < events; i++)
            {
                if (clock.Elapsed >= nextSample || i >= events)
                {
                    committed = progress.Committed();
                    samples.Add((clock.Elapsed.TotalSeconds, committed));
                    nextSample = clock.Elapsed + TimeSpan.FromMilliseconds(250);
                    if (workers.FirstOrDefault(w => w.HasExited) is { } dead)
                    {
                        throw new InvalidOperationException($"a worker process exited: {dead.Tail()}");
                    }
                }
                if (i >= events)
                {
                    Thread.Sleep(100); // sampling the group's committed offsets while the workers finish
                    continue;
                }
                // The mock broker keeps ~5 MiB per partition: stay at most MaxLag records ahead of the group.
                while (i - committed > MaxLag)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                    committed = progress.Committed();
                }
                var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
                infra.Produce(input, user, body);
            }
            // The steady part: from 10 % to 90 % of the events committed, so start-up (joining the group) and the tail don't count.
            var from = samples.First(s => s.Committed >= events / 10);
            var to = samples.First(s => s.Committed >= events * 9 / 10);
            var rate = (to.Committed - from.Committed) / (to.Seconds - from.Seconds);
            Console.WriteLine($"{processes} worker process(es): {rate:N0} events/s (committed offsets, 10 % → 90 % of {events:N0} events)");
            return rate;
        }
        finally
        {
            foreach (var w in workers)
            {
                w.Dispose();
            }
        }
    }

    private static WorkerProcess StartWorker(string bootstrap, string redis, string run, string input)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MicroMoments.Stream.Worker.dll");
        var port = BenchInfrastructure.FreePort();
        var info = new ProcessStartInfo("dotnet", [dll, "run"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["MicroMoments__Kafka__BootstrapServers"] = bootstrap,
                ["MicroMoments__Kafka__GroupId"] = run,
                ["MicroMoments__Kafka__InputTopics__0"] = input,
                ["MicroMoments__Kafka__OutputTopic"] = $"{run}-out",
                ["MicroMoments__Kafka__DeadLetterTopic"] = $"{run}-dlq",
                ["MicroMoments__Redis__Configuration"] = redis,
                ["MicroMoments__Redis__KeyPrefix"] = $"{run}:",
                ["MicroMoments__Demo__Enabled"] = "false",
                // The mock cluster holds a rebalance for a full session timeout; 6 s keeps the second join short.
                ["MicroMoments__Kafka__SessionTimeout"] = "00:00:06",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft.Extensions.Diagnostics.HealthChecks"] = "None",
                ["urls"] = $"http://127.0.0.1:{port}",
            },
        };
        return new WorkerProcess(Process.Start(info)!, port);
    }

    /// <summary>A worker child process: its last output lines for diagnostics, readiness over HTTP, killed on dispose.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly Process _process;
        private readonly int _port;
        private readonly Queue<string> _tail = new();

        public WorkerProcess(Process process, int port)
        {
            _process = process;
            _port = port;
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public bool HasExited => _process.HasExited;

        public string Tail()
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }

        public async Task WaitReadyAsync(TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline && !_process.HasExited)
            {
                try
                {
                    if ((await http.GetAsync(new Uri($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}/healthz/ready"))).IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                await Task.Delay(100);
            }
            throw new TimeoutException($"worker on port {_port} not ready: {Tail()}");
        }

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > 20)
                {
                    _tail.Dequeue();
                }
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
        }
    }

    /// <summary>The consumer group's committed offsets on the input topic, summed.</summary>
    private sealed class GroupProgress(string bootstrap, string group, string topic, int partitions) : IDisposable
    {
        private readonly IConsumer<byte[], byte[]> _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = group, EnableAutoCommit = false,
        }).Build();

        private readonly List<TopicPartition> _partitions = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();

        public long Committed() =>
            _consumer.Committed(_partitions, TimeSpan.FromSeconds(10)).Where(o => o.Offset.Value > 0).Sum(o => o.Offset.Value);

        public void Dispose() => _consumer.Dispose();
    }
}
