using System.Diagnostics;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Redis;
using Polly;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Faults that only a real process shows: the worker executable is SIGKILLed, SIGTERMed and scaled out and in
/// as separate processes on the wall clock, under a live load, and the end result is compared with
/// <c>simulate</c> over exactly the events produced: the same per-user state, the same set of intervention
/// ids, and no id twice on the output topic.
/// </summary>
// Its subject is the process (kill, stop, scale); shard ownership on a cluster is covered by FaultTests' rebalance.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class WorkerProcessFaultTests : IAsyncLifetime
{
    /// <summary>
    /// Outcomes that depend on the events alone, never on when the worker gets to them: a count, a single event,
    /// and a dwell that only a user's last event can start. No caps or cooldowns, which would read the wall clock.
    /// </summary>
    private const string Rules = """
        version: "process-faults"
        rules:
          - id: task-failing
            trigger: { kind: count, event: Task Failed, times: 3, within: 10m, per: task }
            action: { moment: clarification, channel: in_app, message: { body: "Stuck on {{trigger.task}}?" } }
          - id: content-shared
            trigger: { kind: event, event: Content Shared }
            action: { moment: reward, channel: toast, message: { body: "Thanks for sharing" } }
          - id: welcome-dwell
            trigger: { kind: dwell, view: Welcome, after: 15s }
            action: { moment: curiosity, channel: in_app, message: { body: "What excites you most?" } }
        """;

    private static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(30);
    private static readonly IReadOnlyList<string> LoadUsers = [.. Enumerable.Range(0, 100).Select(i => $"u-{i}")];

    private readonly KafkaFixture _kafka;
    private readonly RedisFixture _redis;
    private readonly ITestOutputHelper _log;
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-process-").FullName;
    private readonly string _rules;
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private readonly List<WorkerProcess> _workers = [];

    public WorkerProcessFaultTests(KafkaFixture kafka, RedisFixture redis, ITestOutputHelper log)
    {
        _kafka = kafka;
        _redis = redis;
        _log = log;
        _rules = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(_rules, Rules);
    }

    /// <summary>Starts a worker process; every one started is stopped when the test ends, whatever happened.</summary>
    private WorkerProcess StartWorker(TestStreams streams, string name)
    {
        var worker = WorkerProcess.Start(name, streams, _redis.Configuration, _rules, _log);
        _workers.Add(worker);
        return worker;
    }

    private async Task<WorkerProcess> StartReadyWorkerAsync(TestStreams streams, string name)
    {
        var worker = StartWorker(streams, name);
        await worker.WaitUntilReadyAsync();
        return worker;
    }

    private void Note(string what) => _log.WriteLine($"{_elapsed.Elapsed.TotalSeconds,6:F1} s  {what}");

    private static List<InterventionCommand> Commands(TopicReader output) =>
        output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();

    [Fact]
    public async Task Sigkill_MidBatchThreeTimesUnderLoad_MatchesSimulateWithNoDuplicateIds()
    {
        const int partitions = 6;
        using var streams = await TestStreams.CreateAsync(_kafka, partitions);
        using var output = streams.Read(streams.Output);
        using var offsets = new GroupOffsets(streams);
        await using var load = new ClickstreamLoad(streams, LoadUsers, eventsPerSecond: 1500);
        var worker = await StartReadyWorkerAsync(streams, "w0");
        load.Start();
        Note("w0 ready, load started");

        for (var kill = 1; kill <= 3; kill++)
        {
            // New commands on the output topic: a batch is being published, or its state write is in flight. Kill now.
            var seen = output.Records.Count;
            await Eventually.TrueAsync(() => output.Records.Count > seen, TimeSpan.FromSeconds(30), $"{worker.Name} publishes interventions");
            worker.Kill();
            Assert.NotEqual(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            Note($"SIGKILL {kill} after {load.Produced} events");
            // The dead member keeps its partitions until its session times out, so readiness takes that long.
            worker = await StartReadyWorkerAsync(streams, $"w{kill}");
            Note($"w{kill} ready");
        }
        var produced = await StopLoadAndCatchUpAsync(load, offsets, partitions);
        Note($"outboxes recovered from a killed owner: {_workers.Sum(w => w.CountLines("Recovered the outbox"))}");
        await AssertMatchesSimulateAsync(streams, output, offsets, produced, drain: "PT0S");
    }

    [Fact]
    public async Task Sigterm_UnderLoad_ExitsZeroInGracePeriodAndRestartReprocessesNothing()
    {
        const int partitions = 6;
        using var streams = await TestStreams.CreateAsync(_kafka, partitions);
        using var output = streams.Read(streams.Output);
        using var offsets = new GroupOffsets(streams);
        await using var load = new ClickstreamLoad(streams, LoadUsers, eventsPerSecond: 1500);
        var first = await StartReadyWorkerAsync(streams, "first");
        load.Start();
        await Eventually.TrueAsync(() => output.Records.Count >= 500, TimeSpan.FromSeconds(30), "the first worker publishes interventions");

        var stopping = Stopwatch.StartNew();
        await first.TerminateAsync();
        var exit = await first.WaitForExitAsync(GracePeriod);
        Note($"SIGTERM after {load.Produced} events: exit {exit} in {stopping.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, exit);
        // What the restart resumes from is exactly what was applied: nothing applied and uncommitted (it would be
        // read again), nothing committed and unapplied (it would be lost).
        Assert.Equal(offsets.Committed(partitions), await AppliedOffsetsAsync(streams, partitions));

        var second = await StartReadyWorkerAsync(streams, "second");
        Note("second ready");
        var produced = await StopLoadAndCatchUpAsync(load, offsets, partitions);
        await AssertMatchesSimulateAsync(streams, output, offsets, produced, drain: "PT0S");

        stopping.Restart();
        await second.TerminateAsync();
        Assert.Equal(0, await second.WaitForExitAsync(GracePeriod));
        Note($"second stopped in {stopping.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(offsets.Ends(streams.Input, partitions), offsets.Committed(partitions));
    }

    [Fact]
    public async Task Rebalance_OneToThreeToOneProcessesUnderLoad_MatchesSimulateEveryTimerFiredOnce()
    {
        const int partitions = 12;
        using var streams = await TestStreams.CreateAsync(_kafka, partitions);
        using var output = streams.Read(streams.Output);
        using var offsets = new GroupOffsets(streams);
        await using var load = new ClickstreamLoad(streams, LoadUsers, eventsPerSecond: 1500);
        var dwellers = Enumerable.Range(0, 40).Select(i => $"u-dwell-{i}").ToList();
        void ViewWelcome(IEnumerable<string> users)
        {
            foreach (var u in users)
            {
                load.Send(u, at => Screen(u, "Welcome", at)); // a dweller's only event: its dwell timer is due 15 s later
            }
        }
        var a = await StartReadyWorkerAsync(streams, "a");
        load.Start();
        Note("a ready, load started");

        var (b, c) = (StartWorker(streams, "b"), StartWorker(streams, "c"));
        await Eventually.TrueAsync(() => a.Partitions < partitions, TimeSpan.FromSeconds(30), "the rebalance takes partitions from a");
        ViewWelcome(dwellers.Take(20)); // armed while partitions move to b and c
        Note($"rebalancing ({a.Partitions}/{b.Partitions}/{c.Partitions}), first dwell timers armed");
        await Task.WhenAll(b.WaitUntilReadyAsync(), c.WaitUntilReadyAsync());
        await Eventually.TrueAsync(() => a.Partitions > 0 && b.Partitions > 0 && c.Partitions > 0 && a.Partitions + b.Partitions + c.Partitions == partitions,
            TimeSpan.FromSeconds(30), "the partitions spread over three workers");
        ViewWelcome(dwellers.Skip(20)); // armed on three workers, due after the scale-in
        Note($"spread {a.Partitions}/{b.Partitions}/{c.Partitions}, second dwell timers armed");
        var spread = offsets.Committed(partitions);
        await Eventually.TrueAsync(() => offsets.Committed(partitions).Zip(spread).All(x => x.First > x.Second),
            TimeSpan.FromSeconds(30), "every partition progresses with three workers");

        var stopping = Stopwatch.StartNew();
        await Task.WhenAll(b.TerminateAsync(), c.TerminateAsync());
        var exits = await Task.WhenAll(b.WaitForExitAsync(GracePeriod), c.WaitForExitAsync(GracePeriod));
        Assert.Equal(new[] { 0, 0 }, exits);
        await Eventually.TrueAsync(() => a.Partitions == partitions, TimeSpan.FromSeconds(30), "a owns every partition again");
        Note($"b and c stopped, a owns all again after {stopping.Elapsed.TotalSeconds:F1} s");

        var produced = await StopLoadAndCatchUpAsync(load, offsets, partitions);
        await AssertMatchesSimulateAsync(streams, output, offsets, produced, drain: "PT1M");
        var dwells = Commands(output).Where(command => command.RuleId == "welcome-dwell").ToList();
        Assert.Equal(dwellers.Order(StringComparer.Ordinal), dwells.Select(d => d.UserId).Order(StringComparer.Ordinal));
    }

    /// <summary>Stops the load and waits until the group committed every record; returns the events in the order produced.</summary>
    private async Task<IReadOnlyList<string>> StopLoadAndCatchUpAsync(ClickstreamLoad load, GroupOffsets offsets, int partitions)
    {
        var produced = await load.StopAsync();
        Note($"load stopped: {produced.Count} events");
        // Generous: on a 2-core machine busy with other builds, a restarted worker drained 78,000 events in over 30 s.
        await Eventually.TrueAsync(() => offsets.CaughtUp(partitions), TimeSpan.FromSeconds(120), "every record committed");
        Note("caught up");
        return produced;
    }

    /// <summary>Per input partition, the offset after the last record applied to any user's state in Redis.</summary>
    private async Task<long[]> AppliedOffsetsAsync(TestStreams streams, int partitions)
    {
        var store = Store(streams);
        var applied = new long[partitions];
        foreach (var user in LoadUsers)
        {
            if (await store.FindAsync(user, default) is { } found)
            {
                for (var p = 0; p < partitions; p++)
                {
                    if (found.State.Watermarks.TryGetValue($"{streams.Input}/{p}", out var offset))
                    {
                        applied[p] = Math.Max(applied[p], offset + 1);
                    }
                }
            }
        }
        return applied;
    }

    private UserStateStore Store(TestStreams streams) =>
        new(_redis.Connection, new RedisOptions { Configuration = _redis.Configuration, KeyPrefix = streams.KeyPrefix }, ResiliencePipeline.Empty);

    /// <summary>
    /// Runs <c>simulate</c> over the produced events and compares: every user's state in Redis, the set of
    /// intervention ids on the output topic, and that no id is there twice.
    /// </summary>
    private async Task AssertMatchesSimulateAsync(TestStreams streams, TopicReader output, GroupOffsets offsets, IReadOnlyList<string> produced, string drain)
    {
        var expected = SimulatedRun.Of(produced, _rules, drain, _dir);
        var expectedIds = expected.Interventions.Select(i => i.InterventionId).ToHashSet(StringComparer.Ordinal);
        Note($"simulate: {expected.Users.Count} users, {expectedIds.Count} interventions");
        await Eventually.TrueAsync(() => output.Records.Count == offsets.Ends(streams.Output, 1)[0]
                && Commands(output).Select(c => c.InterventionId).ToHashSet(StringComparer.Ordinal).IsSupersetOf(expectedIds),
            TimeSpan.FromSeconds(45), "every intervention simulate decided is on the output topic, and the whole topic is read");

        var store = Store(streams);
        var differences = new List<(string Expected, string Actual)>();
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                differences.Clear();
                foreach (var (user, state) in expected.Users)
                {
                    var want = SimulatedRun.Comparable(state);
                    var have = await store.FindAsync(user, default) is { } found ? SimulatedRun.Comparable(found.State) : "(no state in Redis)";
                    if (want != have)
                    {
                        differences.Add((want, have));
                    }
                }
                return differences.Count == 0;
            }, TimeSpan.FromSeconds(20), "every user's state in Redis equals simulate's");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{differences.Count} of {expected.Users.Count} users differ from simulate; the first:\nsimulate: {differences[0].Expected}\nRedis:    {differences[0].Actual}");
        }

        var ids = Commands(output).Select(c => c.InterventionId).ToList();
        var duplicates = ids.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()}").ToList();
        Note($"output: {ids.Count} records, {ids.Distinct(StringComparer.Ordinal).Count()} distinct ids, {duplicates.Count} ids more than once");
        Assert.Equal(expectedIds.Order(StringComparer.Ordinal), ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} intervention ids on the output topic more than once: {string.Join(", ", duplicates.Take(10))}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var w in _workers)
        {
            await w.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
