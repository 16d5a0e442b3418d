using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The worker's own stages on one thread with no I/O — parse, apply, prepare the save (serialise), encode
/// the commands, and deserialise for the next load — timed in thread CPU time with the bytes each allocates.
/// CPU time, not wall time, so other processes on the machine barely move the figures. Bytes are the whole process's
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>): parse and prepare split a large batch over the thread pool, whose
/// allocations a per-thread count would miss; nothing else in the process runs meanwhile.
/// </summary>
public static class CoreCost
{
    private const int BatchSize = 5000;

    /// <summary>
    /// The time every round runs at: a Tuesday noon UTC (the mix's users have no time zone). By the wall clock, a run at
    /// night would meet the catalogue's quiet hours and defer instead, which costs and allocates differently.
    /// </summary>
    private static readonly DateTimeOffset Noon = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private const string Deserialise = "deserialise";

    /// <summary>One stage's cost: thread CPU and allocations per event.</summary>
    public readonly record struct Stage(string Name, double NanosPerEvent, double BytesPerEvent);

    /// <summary>The stages, the total, the CPU of the other threads (mostly the server GC) and the mean state size.</summary>
    /// <param name="OtherThreadsNanosPerEvent">CPU of the process's other threads: the parse stage's workers (it parses a large batch in parallel) and the rest (GC, the runtime).</param>
    /// <param name="ParseWorkersNanosPerEvent">The part of <paramref name="OtherThreadsNanosPerEvent"/> spent while the parse stage ran: its workers (and any GC it caused).</param>
    public sealed record Result(string Label, IReadOnlyList<Stage> Stages, double OtherThreadsNanosPerEvent, double StateBytes, int Interventions, string Gc,
        double ParseWorkersNanosPerEvent = 0)
    {
        /// <summary>The per-event path; deserialising is a cache miss's cost, shown apart.</summary>
        public double TotalNanos => Stages.Where(s => s.Name != Deserialise).Sum(s => s.NanosPerEvent);
        public double TotalBytes => Stages.Where(s => s.Name != Deserialise).Sum(s => s.BytesPerEvent);

        /// <summary>What one core would do: the worker's stages plus its share of the GC, no I/O.</summary>
        public double EventsPerCoreSecond => 1e9 / (TotalNanos + OtherThreadsNanosPerEvent);

        public void Print()
        {
            Console.WriteLine($"  {Label}: {TotalNanos / 1000:F2} µs on the worker thread and {TotalBytes:N0} B allocated (whole process) per event, + {OtherThreadsNanosPerEvent / 1000:F2} µs on other threads (parse workers {ParseWorkersNanosPerEvent / 1000:F2}, GC and the runtime {(OtherThreadsNanosPerEvent - ParseWorkersNanosPerEvent) / 1000:F2}) = {EventsPerCoreSecond:N0} events/s per core; state {StateBytes:F0} B per user; {Interventions:N0} interventions; GC {Gc}");
            foreach (var s in Stages)
            {
                Console.WriteLine(s.Name == Deserialise
                    ? $"    ({s.Name} {s.NanosPerEvent / 1000:F2} µs and {s.BytesPerEvent:N0} B per user state, paid on a cache miss only)"
                    : $"    {s.Name,-12} {s.NanosPerEvent / 1000,7:F2} µs/event {s.BytesPerEvent,8:N0} B/event");
            }
        }
    }

    /// <summary>Runs <paramref name="events"/> events of the standard mix through the stages: per stage the best of <paramref name="rounds"/> (CPU and bytes), after a warm-up.</summary>
    public static Result Run(BenchInfrastructure infra, string label, int events, int rounds, string? rulesPath = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["MicroMoments:Kafka:BootstrapServers"] = infra.Kafka.BootstrapServers,
            ["MicroMoments:Redis:Configuration"] = infra.RedisConfiguration,
            ["MicroMoments:Demo:Enabled"] = "false",
            ["MicroMoments:Pipeline:MaxCachedUsers"] = "10000000",
            ["urls"] = "http://127.0.0.1:0",
        };
        if (rulesPath is not null)
        {
            config["MicroMoments:Rules:Path"] = rulesPath;
        }
        var (host, embedded) = WorkerCommands.BuildWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(config);
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        embedded.Dispose();
        using (host)
        {
            var pipeline = host.Services.GetRequiredService<PipelineStages>();
            var decide = host.Services.GetRequiredService<DecideStage>();
            // Per stage, the best round: noise from other processes only ever adds time.
            var results = Enumerable.Range(0, rounds + 1).Select(_ => RunOnce(pipeline, decide, label, events)).Skip(1).ToList();
            var first = results[0];
            // Bytes too: a round whose code was not yet fully optimised (tiered compilation lags on a busy machine) allocates more.
            var stages = first.Stages.Select((s, i) => s with
            {
                NanosPerEvent = results.Min(r => r.Stages[i].NanosPerEvent),
                BytesPerEvent = results.Min(r => r.Stages[i].BytesPerEvent),
            }).ToList();
            var least = results.MinBy(r => r.OtherThreadsNanosPerEvent)!;
            return first with { Stages = stages, OtherThreadsNanosPerEvent = least.OtherThreadsNanosPerEvent, ParseWorkersNanosPerEvent = least.ParseWorkersNanosPerEvent };
        }
    }

    private static Result RunOnce(PipelineStages pipeline, DecideStage decide, string label, int events)
    {
        // Pace as the worker runs it, over a ledger in memory: the rate-limited commands are produced there.
        var pace = new PaceStage(() => decide.Engine, new InMemoryRateLedger());
        var users = events / 20;
        var generator = new EventMix(users, seed: 42);
        var offsets = new long[BenchInfrastructure.Partitions];
        var records = new List<SourceRecord>(events);
        var now = Noon;
        for (var i = 0; i < events; i++)
        {
            var (user, body, _) = generator.Next(now - TimeSpan.FromMilliseconds(events - i));
            var partition = (user.GetHashCode() & int.MaxValue) % BenchInfrastructure.Partitions;
            records.Add(ConsumedRecord.ToSource(new ConsumeResult<byte[]?, byte[]?>
            {
                Topic = "core-clickstream",
                Partition = partition,
                Offset = offsets[partition]++,
                Message = new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(user), Value = body, Timestamp = new Timestamp(now) },
            }));
        }
        foreach (var shard in Enumerable.Range(0, BenchInfrastructure.Partitions))
        {
            pipeline.Cache.Drop($"core-clickstream:{shard}");
        }

        var names = new[] { "parse", "load", "apply", "pace", "prepare", "encode", Deserialise };
        var cpu = new long[names.Length];
        var parseProcess = 0L; // the process's CPU during the parse laps, in ns: its workers' share is this less the thread's
        var allocated = new long[names.Length];
        var stateBytes = 0L;
        var states = 0L;
        var interventions = 0;
        GC.Collect();
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
        var processBefore = Environment.CpuUsage.TotalTime;
        var threadBefore = ThreadCpu.Now();
        for (var start = 0; start < events; start += BatchSize)
        {
            var batch = records.GetRange(start, Math.Min(BatchSize, events - start));
            var work = new BatchWork();
            var s = 0;
            var (t, a) = (ThreadCpu.Now(), GC.GetTotalAllocatedBytes(precise: true));
            var processAtParse = Environment.CpuUsage.TotalTime;
            void Lap()
            {
                var (t2, a2) = (ThreadCpu.Now(), GC.GetTotalAllocatedBytes(precise: true));
                cpu[s] += t2 - t;
                allocated[s] += a2 - a;
                (t, a) = (ThreadCpu.Now(), GC.GetTotalAllocatedBytes(precise: true));
                s++;
            }

            var parsed = pipeline.Parse.Parse(batch, work, now);
            parseProcess += (Environment.CpuUsage.TotalTime - processAtParse).Ticks * 100;
            Lap();
            // The load stage as on a cache miss with nothing in Redis: a new state, marked new.
            foreach (var p in parsed)
            {
                if (!pipeline.Cache.TryGet(p.Shard, p.Event.UserId, out _))
                {
                    pipeline.Cache.Set(p.Shard, new UserState { UserId = p.Event.UserId });
                    work.MarkNew(p.Shard, p.Event.UserId);
                }
            }
            Lap();
            var decidedAt = now;
            decide.Apply(parsed, work, decidedAt);
            Lap();
            pace.PaceAsync(work, NoOutageGate.Instance, decidedAt, CancellationToken.None).GetAwaiter().GetResult();
            Lap();
            var writes = ((PreparedShardWrites)pipeline.Persist.Prepare(work, new Dictionary<string, byte[]>(), _ => 1)).Writes; // the outbox copies the encoded commands: measured as "encode"
            Lap();
            foreach (var (_, command, _) in work.Interventions)
            {
                _ = InterventionCloudEvents.Encode(command);
            }
            interventions += work.Interventions.Count;
            Lap();
            foreach (var w in writes)
            {
                foreach (var blob in w.States)
                {
                    stateBytes += blob.Length;
                    states++;
                    _ = UserStateSerializer.Deserialize(blob);
                }
            }
            Lap();
        }
        var threadUsed = ThreadCpu.Now() - threadBefore;
        var processUsed = (Environment.CpuUsage.TotalTime - processBefore).Ticks * 100;
        var stages = names.Select((n, i) => n == Deserialise
            ? new Stage(n, cpu[i] / (double)Math.Max(1, states), allocated[i] / (double)Math.Max(1, states))
            : new Stage(n, cpu[i] / (double)events, allocated[i] / (double)events)).ToList();
        // The other threads' CPU is shared out over the per-event path only (deserialising included: its garbage is collected there).
        var gc = $"{GC.CollectionCount(0) - gcBefore.Item1}/{GC.CollectionCount(1) - gcBefore.Item2}/{GC.CollectionCount(2) - gcBefore.Item3} gen0/1/2 collections, paused {(GC.GetTotalPauseDuration() - gcBefore.Item4).TotalMicroseconds / events:F2} µs/event";
        return new Result(label, stages, Math.Max(0, processUsed - threadUsed) / (double)events, stateBytes / (double)Math.Max(1, states), interventions, gc,
            Math.Max(0, parseProcess - cpu[0]) / (double)events);
    }
}
