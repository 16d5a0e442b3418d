using System.Diagnostics;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>One system the peer section measures: the Streamiz peer, or the worker with some rules file.</summary>
/// <param name="Name">The key in the summary lines (<c>system=</c>).</param>
/// <param name="RulesPath">The worker's rules file (null: the default catalogue); unused for the peer.</param>
public sealed record PeerContender(string Name, string Label, bool IsPeer, string? RulesPath);

/// <summary>What one contender measured, round by round.</summary>
public sealed class PeerFigures
{
    public List<double> EventsPerSecond { get; } = [];

    /// <summary>Events/s from the first produce to the last record through the rules: free of the commit interval's step.</summary>
    public List<double> DecidedPerSecond { get; } = [];
    public List<double> CpuMicrosPerEvent { get; } = [];
    public Dictionary<int, List<double>> P50 { get; } = [];
    public Dictionary<int, List<double>> P99 { get; } = [];

    public void AddLatency(int rate, double p50, double p99)
    {
        (P50.TryGetValue(rate, out var l50) ? l50 : P50[rate] = []).Add(p50);
        (P99.TryGetValue(rate, out var l99) ? l99 : P99[rate] = []).Add(p99);
    }

    public string Summary(string name) => Stats.Invariant(
        $"system={name} events_per_s={Stats.Median(EventsPerSecond):F0} decided_events_per_s={Stats.Median(DecidedPerSecond):F0} cpu_us_per_event={Stats.Median(CpuMicrosPerEvent):F1} p50_10k_ms={Stats.Median(P50.GetValueOrDefault(10_000) ?? []):F1} p99_10k_ms={Stats.Median(P99.GetValueOrDefault(10_000) ?? []):F1} p50_20k_ms={Stats.Median(P50.GetValueOrDefault(20_000) ?? []):F1} p99_20k_ms={Stats.Median(P99.GetValueOrDefault(20_000) ?? []):F1}");
}

/// <summary>
/// The peer section (issue 20): the two headline rules in Kafka Streams (<see cref="PeerTopology"/>) against the worker
/// with only those two rules and the worker with the whole catalogue, on the same broker, with the same events (the
/// standard mix with 10 % cart events), each round on topics and an instance of its own, the three interleaved round by
/// round. First the equality check (<see cref="PeerEquality"/>). A throughput round produces while the system consumes,
/// then waits until every input offset is committed; then moves time 5 minutes on (the worker's clock; a record per
/// partition for the peer's stream time) so the carts come due, and times their commands. Latency rounds pace the
/// events at 10k and 20k a second and time <c>setup-task-failing</c> commands from their third failure's production.
/// </summary>
public static class PeerSection
{
    /// <summary>The share of events that are cart events (percent, taken from the feature uses).</summary>
    public const int CartShare = 10;
    private const int MaxLag = 100_000;
    private static readonly TimeSpan CartWait = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);

    public static async Task<IReadOnlyList<string>> RunAsync(BenchInfrastructure infra, BenchmarkOptions o)
    {
        var equality = await PeerEquality.RunAsync(infra, "peer-eq");
        Console.WriteLine($"peer: equality check on {equality.Describe()}");
        foreach (var d in equality.Differences().Take(20))
        {
            Console.WriteLine($"  {d}");
        }

        var headline = HeadlineRules.Write();
        PeerContender[] contenders =
        [
            new("peer", "peer (Streamiz, 2 rules, RocksDB)", IsPeer: true, null),
            new("worker_two_rules", "worker, the 2 rules", IsPeer: false, headline),
            new("worker_catalogue", "worker, whole catalogue", IsPeer: false, null),
        ];
        var figures = contenders.ToDictionary(c => c.Name, _ => new PeerFigures());
        // 200k: the commit interval (1 s on both sides) is a smaller share of a round.
        var events = o.Quick ? 200_000 : 500_000;
        using var producer = LoadProducer(infra);
        Console.WriteLine($"peer: {events:N0} events a throughput round ({events / 20:N0} users, {CartShare} % cart events), {BenchInfrastructure.Partitions} partitions, Kafka = librdkafka mock cluster (in process), Redis = {infra.RedisKind}; each round on new topics and a new instance; the three interleaved");
        foreach (var c in contenders)
        {
            // A discarded round each, so no contender pays the process's JIT for the others.
            await ThroughputRoundAsync(infra, producer, c, 20_000, "peerwarm", print: false);
        }
        for (var round = 1; round <= PipelineSections.Rounds; round++)
        {
            foreach (var c in contenders)
            {
                var (perSecond, decided, cpu) = await ThroughputRoundAsync(infra, producer, c, events, $"peer{round}", print: true);
                figures[c.Name].EventsPerSecond.Add(perSecond);
                figures[c.Name].DecidedPerSecond.Add(decided);
                figures[c.Name].CpuMicrosPerEvent.Add(cpu);
            }
        }
        var seconds = o.Quick ? 5 : 15;
        for (var round = 1; round <= (o.Quick ? 1 : PipelineSections.Rounds); round++)
        {
            foreach (var rate in PipelineSections.LatencyRates)
            {
                foreach (var c in contenders)
                {
                    var (p50, p99) = await LatencyRoundAsync(infra, producer, c, rate, seconds, round);
                    figures[c.Name].AddLatency(rate, p50, p99);
                }
            }
        }
        foreach (var c in contenders)
        {
            var f = figures[c.Name];
            Console.WriteLine($"peer section, {c.Label}: {Stats.Spread(f.EventsPerSecond, "N0")} events/s committed ({Stats.Spread(f.DecidedPerSecond, "N0")} decided), CPU {Stats.Spread(f.CpuMicrosPerEvent, "F1")} µs/event; p99 {Stats.Spread(f.P99.GetValueOrDefault(10_000) ?? [], "F1")} ms at 10k/s, {Stats.Spread(f.P99.GetValueOrDefault(20_000) ?? [], "F1")} ms at 20k/s");
        }
        PeerUnderTest.DeleteStateRoot();
        return [$"peer_equal={(equality.Equal ? "true" : "false")} peer_commands={equality.Peer.Count} worker_commands={equality.Worker.Count}",
            .. contenders.Select(c => figures[c.Name].Summary(c.Name))];
    }

    /// <summary>
    /// One round: events produced while the system consumes (at most <see cref="MaxLag"/> ahead), until every input offset
    /// is committed and the commands have stopped; events/s from the first produce to the later of the two (and to the last
    /// record decided). Then the time step that brings the carts due, timed from the step to the last command. Returns
    /// events/s both ways and CPU µs per event.
    /// </summary>
    private static async Task<(double EventsPerSecond, double DecidedPerSecond, double CpuMicros)> ThroughputRoundAsync(BenchInfrastructure infra, IProducer<string, byte[]> producer,
        PeerContender c, int events, string prefix, bool print)
    {
        var section = $"{prefix}-{c.Name.Replace('_', '-')}";
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output, collect: true);
        await using var system = await RunningSystem.StartAsync(infra, producer, c, section, reader);
        var mix = new EventMix(events / 20, seed: 42, userPrefix: $"{section}-u", cartShare: CartShare);
        var cpu = CpuSample.Take(infra);
        var started = Stopwatch.GetTimestamp();
        var load = new Thread(() =>
        {
            for (var i = 0; i < events; i++)
            {
                while (i - system.Processed > MaxLag)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(2));
                }
                var now = DateTimeOffset.UtcNow;
                var (user, body, _) = mix.Next(now);
                Produce(producer, input, user, body, now);
            }
            producer.Flush();
        }) { Name = ThreadGroups.LoadProducer };
        load.Start();
        load.Join();
        var produced = Stopwatch.GetElapsedTime(started);
        await system.WaitForAsync(events, TimeSpan.FromMinutes(5));
        var decided = await system.WaitDecidedAsync(events, TimeSpan.FromMinutes(1));
        var committed = await WaitCommittedAsync(infra, system.Group, input, TimeSpan.FromMinutes(1));
        var used = CpuSample.Take(infra) - cpu;
        await reader.WaitQuietAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
        var ended = Math.Max(committed, reader.LastCommandAt);
        var perSecond = events / Stopwatch.GetElapsedTime(started, ended).TotalSeconds;
        var byRule = reader.Commands.GroupBy(x => x.RuleId).ToDictionary(g => g.Key, g => g.Count());

        // The step: five minutes pass, the carts come due.
        var before = reader.Commands.Count;
        var step = Stopwatch.GetTimestamp();
        system.MoveTime(CartWait);
        PeerEquality.ProduceTicks(producer, input, DateTimeOffset.UtcNow + CartWait);
        producer.Flush();
        await system.WaitForAsync(events + BenchInfrastructure.Partitions, TimeSpan.FromMinutes(1));
        await reader.WaitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var carts = reader.Commands.Skip(before).Count(x => x.RuleId == HeadlineRulesTransformer.CartRule);
        var burst = reader.LastCommandAt > step ? Stopwatch.GetElapsedTime(step, reader.LastCommandAt).TotalMilliseconds : double.NaN;
        if (print)
        {
            Console.WriteLine(Stats.Invariant($"{prefix} {c.Label}: {events:N0} events in {Stopwatch.GetElapsedTime(started, ended).TotalSeconds:F2} s = {perSecond:N0} events/s (first produce → all offsets committed and the last command read; the last decided after {Stopwatch.GetElapsedTime(started, decided).TotalSeconds:F2} s, produced in {produced.TotalSeconds:F2} s); {byRule.GetValueOrDefault(HeadlineRulesTransformer.CountRule):N0} setup-task-failing, {byRule.Values.Sum():N0} commands in all"));
            Console.WriteLine(Stats.Invariant($"  {used.Describe(events, "event")}"));
            Console.WriteLine(Stats.Invariant($"  +5 min: {carts:N0} cart-abandoned commands, the last {burst:F0} ms after the step{(c.IsPeer ? "" : $"; the worker fired {system.TimersFired:N0} timers")}"));
        }
        return (perSecond, events / Stopwatch.GetElapsedTime(started, decided).TotalSeconds, used.MicrosPer(events));
    }

    /// <summary>A fixed rate on new topics and a new instance: p50 and p99 of event produced → command read, for <c>setup-task-failing</c>.</summary>
    private static async Task<(double P50, double P99)> LatencyRoundAsync(BenchInfrastructure infra, IProducer<string, byte[]> producer, PeerContender c, int rate, int seconds, int round)
    {
        var section = $"peerlat{round}-{rate / 1000}k-{c.Name.Replace('_', '-')}";
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output);
        await using var system = await RunningSystem.StartAsync(infra, producer, c, section, reader);
        // ~25 events per user over the run: enough failed tasks to trigger, as in the latency section.
        var mix = new EventMix(rate * seconds / 25, seed: 100 * round + rate / 1000, userPrefix: $"{section}-u", cartShare: CartShare);
        var producedAt = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        reader.Track(producedAt, HeadlineRulesTransformer.CountRule);
        var paced = rate * seconds;
        var cpu = CpuSample.Take(infra);
        PacedLoad.Run(rate, seconds, () =>
        {
            var now = DateTimeOffset.UtcNow;
            var (user, body, messageId) = mix.Next(now);
            producedAt[messageId] = Stopwatch.GetTimestamp();
            Produce(producer, input, user, body, now);
        });
        producer.Flush();
        await system.WaitForAsync(paced, TimeSpan.FromMinutes(2));
        await reader.WaitQuietAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
        var used = CpuSample.Take(infra) - cpu;
        var latencies = reader.TakeLatencies().Order().ToArray();
        var (p50, p99) = (Stats.Percentile(latencies, 0.50), Stats.Percentile(latencies, 0.99));
        Console.WriteLine(Stats.Invariant($"round {round} latency at {rate:N0} events/s, {c.Label}: {latencies.Length:N0} setup-task-failing commands, p50 {p50:F1} ms, p99 {p99:F1} ms, max {latencies.LastOrDefault():F1} ms; CPU {used.MicrosPer(paced):F1} µs/event"));
        return (p50, p99);
    }

    /// <summary>The load producer of this section: lz4 in large batches, as the mock broker keeps only ~5 MB a partition.</summary>
    private static IProducer<string, byte[]> LoadProducer(BenchInfrastructure infra) => new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = infra.Kafka.BootstrapServers, Partitioner = KafkaClientConfigs.KeyPartitioner, LingerMs = 5, BatchNumMessages = 10_000,
        QueueBufferingMaxMessages = 500_000, CompressionType = CompressionType.Lz4,
    }).Build();

    /// <summary>Produces with the event's time as the record's timestamp (the peer's stream time), waiting for room when the queue is full.</summary>
    private static void Produce(IProducer<string, byte[]> producer, string topic, string key, byte[] value, DateTimeOffset at)
    {
        var message = new Message<string, byte[]> { Key = key, Value = value, Timestamp = new Timestamp(at) };
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(5));
            }
        }
    }

    /// <summary>Waits until the group's committed offsets reach the end of every input partition; returns when (a <see cref="Stopwatch"/> timestamp).</summary>
    private static async Task<long> WaitCommittedAsync(BenchInfrastructure infra, string group, string input, TimeSpan timeout)
    {
        using var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = infra.Kafka.BootstrapServers, GroupId = group, EnableAutoCommit = false }).Build();
        var partitions = Enumerable.Range(0, BenchInfrastructure.Partitions).Select(p => new TopicPartition(input, p)).ToList();
        var ends = partitions.ToDictionary(p => p.Partition.Value, p => probe.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var committed = probe.Committed(partitions, TimeSpan.FromSeconds(10));
            var at = Stopwatch.GetTimestamp();
            if (committed.All(c => c.Offset.Value >= ends[c.Partition.Value]))
            {
                return at;
            }
            if (at > deadline)
            {
                throw new TimeoutException($"group {group} has not committed its input ({string.Join(", ", committed.Select(c => $"{c.Partition.Value}:{c.Offset.Value}/{ends[c.Partition.Value]}"))})");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>The contender, started on the section's topics and ready: the peer running, or the worker owning every partition.</summary>
    private sealed class RunningSystem : IAsyncDisposable
    {
        private readonly PeerUnderTest? _peer;
        private readonly WorkerUnderTest? _worker;
        private readonly ShiftableClock _clock;

        private RunningSystem(PeerUnderTest? peer, WorkerUnderTest? worker, ShiftableClock clock, string group)
        {
            _peer = peer;
            _worker = worker;
            _clock = clock;
            Group = group;
        }

        public string Group { get; }

        public long Processed => _peer?.Counters.Processed ?? _worker!.Total;

        public long TimersFired => _worker?.TimersFired ?? 0;

        public static async Task<RunningSystem> StartAsync(BenchInfrastructure infra, IProducer<string, byte[]> producer, PeerContender c, string section, InterventionReader reader)
        {
            RunningSystem system;
            if (c.IsPeer)
            {
                var peer = await PeerUnderTest.StartAsync(infra.Kafka, section, BenchInfrastructure.Partitions);
                system = new RunningSystem(peer, null, new ShiftableClock(), peer.ApplicationId);
                await peer.WaitUntilRunningAsync(TimeSpan.FromSeconds(60));
                var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
                while (!reader.Assigned && Stopwatch.GetTimestamp() < deadline)
                {
                    await Task.Delay(10);
                }
            }
            else
            {
                var clock = new ShiftableClock();
                var worker = await WorkerUnderTest.StartAsync(infra, section, c.RulesPath, clock);
                system = new RunningSystem(null, worker, clock, $"bench-{section}");
                await worker.WaitUntilAssignedAsync(reader, TimeSpan.FromSeconds(60));
            }
            using (var admin = new DependentAdminClientBuilder(producer.Handle).Build())
            {
                admin.GetMetadata($"{section}-clickstream", TimeSpan.FromSeconds(10)); // not timed: the first record would wait for it
            }
            return system;
        }

        public Task WaitForAsync(long processed, TimeSpan timeout) =>
            _peer?.WaitForAsync(processed, timeout) ?? _worker!.WaitForAsync(processed, timeout);

        /// <summary>Waits until <paramref name="count"/> records went through the rules (the peer's transformer, the worker's decide stage); returns when.</summary>
        public async Task<long> WaitDecidedAsync(long count, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while ((_peer?.Counters.Processed ?? _worker!.Applied) < count)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{count:N0} records not decided");
                }
                await Task.Delay(5);
            }
            return Stopwatch.GetTimestamp();
        }

        /// <summary>The worker's clock moves on; the peer's time moves with the records it reads (the caller's ticks).</summary>
        public void MoveTime(TimeSpan by) => _clock.Offset += by;

        public async ValueTask DisposeAsync()
        {
            _peer?.Dispose();
            if (_worker is not null)
            {
                await _worker.DisposeAsync();
            }
        }
    }
}
