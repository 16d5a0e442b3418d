using System.Diagnostics;
using Confluent.Kafka;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>The commands each side gave for the fixed events, as (user, rule, triggering event id) sets.</summary>
public sealed record EqualityResult(IReadOnlySet<(string User, string Rule, string Trigger)> Expected,
    IReadOnlySet<(string User, string Rule, string Trigger)> Peer, IReadOnlySet<(string User, string Rule, string Trigger)> Worker, int Events)
{
    public bool Equal => Peer.SetEquals(Worker);

    /// <summary>One line per difference, each side's extras named.</summary>
    public IEnumerable<string> Differences() =>
        Peer.Except(Worker).Select(c => $"peer only: {c}").Concat(Worker.Except(Peer).Select(c => $"worker only: {c}"))
            .Concat(Expected.Except(Peer).Select(c => $"expected, not from the peer: {c}"));

    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Events:N0} fixed events: peer {Peer.Count} commands ({Count(Peer, HeadlineRulesTransformer.CountRule)} count, {Count(Peer, HeadlineRulesTransformer.CartRule)} cart), worker {Worker.Count} ({Count(Worker, HeadlineRulesTransformer.CountRule)} count, {Count(Worker, HeadlineRulesTransformer.CartRule)} cart), scripted {Expected.Count}: {(Equal ? "the same commands (users, rules, triggering events)" : "DIFFERENT")}{(Expected.SetEquals(Peer) ? "" : "; the peer differs from the script")}");

    private static int Count(IReadOnlySet<(string User, string Rule, string Trigger)> set, string rule) => set.Count(c => c.Rule == rule);
}

/// <summary>
/// The equality check: one fixed set of events (<see cref="FixedEvents"/>) through the peer and through the worker
/// with only the two headline rules, each on topics of its own; their commands must be the same. Event time is driven
/// the same way on both sides: the peer's punctuator follows the record timestamps, and the worker's clock is moved
/// behind the events (see <see cref="RunWorkerAsync"/>). Both end with a step 6 minutes past the last event, so every
/// cart's five minutes end inside the run.
/// </summary>
public static class PeerEquality
{
    private static readonly TimeSpan Slice = TimeSpan.FromMinutes(1);

    public static async Task<EqualityResult> RunAsync(BenchInfrastructure infra, string section, int users = 240)
    {
        // Near the wall clock, on a whole minute: the worker keeps the stamps' time (its Redis TTLs, trigger ages).
        var now = DateTimeOffset.UtcNow;
        var t0 = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero) + TimeSpan.FromMinutes(3);
        var events = FixedEvents.Build($"{section}-u", users, t0);
        var peer = await RunPeerAsync(infra, $"{section}-peer", events);
        var worker = await RunWorkerAsync(infra, $"{section}-worker", events);
        return new EqualityResult(events.Expected, peer, worker, events.Events.Count);
    }

    private static async Task<HashSet<(string, string, string)>> RunPeerAsync(BenchInfrastructure infra, string section, FixedEvents events)
    {
        var (input, output) = infra.Topics(section);
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output, collect: true);
        using var peer = await PeerUnderTest.StartAsync(infra.Kafka, section, BenchInfrastructure.Partitions);
        await peer.WaitUntilRunningAsync(TimeSpan.FromSeconds(60));
        foreach (var e in events.Events)
        {
            Produce(infra, input, e);
        }
        ProduceTicks(infra.Producer, input, events.End);
        infra.Producer.Flush();
        await peer.WaitForAsync(events.Events.Count + BenchInfrastructure.Partitions, TimeSpan.FromSeconds(60));
        return await CollectAsync(reader, events.Expected.Count);
    }

    /// <summary>
    /// The events in one-minute slices of their time. Before a slice is produced, the worker's clock is set to the start
    /// of the slice before it, and the slice before it has been received: so a timer due by that clock was armed, and
    /// could be ended, only by events already decided (the loop decides a batch before its next timer check), and no
    /// event is more than 2 minutes ahead of the clock (the worker refuses 5). After the last slice the clock goes on a
    /// minute at a time to the end. Each move waits for two timer checks at the new time, so every timer fires within a
    /// minute of its due time: one left to a single jump to the end would be older than the worker's 10-minute
    /// <c>MaxTriggerAge</c> there and suppressed as <c>stale_trigger</c>, which the peer has no notion of.
    /// </summary>
    private static async Task<HashSet<(string, string, string)>> RunWorkerAsync(BenchInfrastructure infra, string section, FixedEvents events)
    {
        var (input, output) = infra.Topics(section);
        var clock = new ShiftableClock { Offset = events.Start - Slice - DateTimeOffset.UtcNow };
        using var reader = new InterventionReader(infra.Kafka.BootstrapServers, output, collect: true);
        // Checks every 50 ms (200 by default): the clock's moves wait for two of them.
        await using var worker = await WorkerUnderTest.StartAsync(infra, section, HeadlineRules.Write(), clock,
            new Dictionary<string, string?> { ["MicroMoments:Pipeline:TimerCheckInterval"] = "00:00:00.050" });
        await worker.WaitUntilAssignedAsync(reader, TimeSpan.FromSeconds(60));
        var produced = 0;
        var from = events.Start;
        for (; produced < events.Events.Count; from += Slice)
        {
            await MoveClockAsync(worker, clock, from - Slice);
            for (; produced < events.Events.Count && events.Events[produced].At < from + Slice; produced++)
            {
                Produce(infra, input, events.Events[produced]);
            }
            infra.Producer.Flush();
            await worker.WaitForAsync(produced, TimeSpan.FromSeconds(60));
        }
        for (var at = from - Slice; at < events.End; at += Slice)
        {
            await MoveClockAsync(worker, clock, at);
        }
        await MoveClockAsync(worker, clock, events.End);
        ProduceTicks(infra.Producer, input, events.End);
        infra.Producer.Flush();
        await worker.WaitForAsync(produced + BenchInfrastructure.Partitions, TimeSpan.FromSeconds(60));
        return await CollectAsync(reader, events.Expected.Count);
    }

    /// <summary>Sets the worker's clock, then waits until two timer checks (Redis <c>due_timers</c> calls) have run: the second read the new time.</summary>
    private static async Task MoveClockAsync(WorkerUnderTest worker, ShiftableClock clock, DateTimeOffset to)
    {
        clock.Offset = to - DateTimeOffset.UtcNow;
        var checks = worker.RedisCalls.GetValueOrDefault("due_timers");
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (worker.RedisCalls.GetValueOrDefault("due_timers") < checks + 2)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("the worker ran no timer check");
            }
            await Task.Delay(5);
        }
    }

    /// <summary>Waits for the expected number of commands (or a deadline), then for a second of quiet: extras show up too.</summary>
    private static async Task<HashSet<(string, string, string)>> CollectAsync(InterventionReader reader, int expected)
    {
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (reader.Commands.Count < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
        }
        await reader.WaitQuietAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        return reader.Commands.Select(c => (c.UserId, c.RuleId, c.TriggerEventId)).ToHashSet();
    }

    private static void Produce(BenchInfrastructure infra, string topic, FixedEvent e) =>
        infra.Producer.Produce(topic, new Message<string, byte[]> { Key = e.User, Value = e.Body, Timestamp = new Timestamp(e.At) });

    /// <summary>
    /// One event per partition stamped at <paramref name="at"/>, for a user no rule concerns. The peer's punctuator runs on
    /// stream time, which only records move: without them a partition's last carts would wait for its next record.
    /// </summary>
    public static void ProduceTicks(IProducer<string, byte[]> producer, string topic, DateTimeOffset at)
    {
        var mix = new EventMix(BenchInfrastructure.Partitions, seed: 1, userPrefix: $"tick-{topic}-");
        for (var p = 0; p < BenchInfrastructure.Partitions; p++)
        {
            var (user, body, _) = mix.Next(at, p, roll: 70); // a screen view
            producer.Produce(new TopicPartition(topic, p), new Message<string, byte[]> { Key = user, Value = body, Timestamp = new Timestamp(at) });
        }
    }
}

/// <summary>A scripted event: its user, time, body and message id.</summary>
public sealed record FixedEvent(string User, DateTimeOffset At, byte[] Body, string MessageId);

/// <summary>
/// The fixed events: twelve scripts, each played by every twelfth user from a start spread over 10 minutes, with a
/// few feature uses and a view between; about 20 minutes of event time. Each script is a case of the two rules,
/// edges included (a hit exactly 10 minutes after the first, a second group in the cooldown, a re-armed cart, two carts).
/// </summary>
public sealed class FixedEvents
{
    private const string TaskA = "notifications-setup";
    private const string TaskB = "calendar-sync";
    private const string Count = HeadlineRulesTransformer.CountRule;
    private const string Cart = HeadlineRulesTransformer.CartRule;

    // (seconds after the user's start, event, property value, the rule it should trigger)
    private static readonly (int At, string Event, string Value, string? Fires)[][] Scripts =
    [
        [(0, "Task Failed", TaskA, null), (60, "Task Failed", TaskA, null), (120, "Task Failed", TaskA, Count)],
        [(0, "Task Failed", TaskA, null), (200, "Task Failed", TaskA, null)],
        // The first hit is exactly 10 minutes before the third: out of the window (a hit at or before `within` ago).
        [(0, "Task Failed", TaskA, null), (300, "Task Failed", TaskA, null), (600, "Task Failed", TaskA, null)],
        // A second group within the cooldown (1 h) fires the trigger but gives no command.
        [(0, "Task Failed", TaskA, null), (30, "Task Failed", TaskA, null), (60, "Task Failed", TaskA, Count),
            (90, "Task Failed", TaskA, null), (120, "Task Failed", TaskA, null), (150, "Task Failed", TaskA, null)],
        [(0, "Task Failed", TaskA, null), (30, "Task Failed", TaskB, null), (60, "Task Failed", TaskA, null), (90, "Task Failed", TaskB, null), (120, "Task Failed", TaskA, Count)],
        [(0, "Product Added", "c0", Cart)],
        [(0, "Product Added", "c0", null), (120, "Order Completed", "c0", null)],
        [(0, "Product Added", "c0", null), (120, "Product Added", "c0", Cart)],
        // The second cart is abandoned within the first's cooldown (24 h).
        [(0, "Product Added", "c0", Cart), (60, "Product Added", "c1", null)],
        [(0, "Product Added", "c0", Cart), (60, "Order Completed", "c1", null)],
        [(0, "Task Failed", TaskA, null), (10, "Product Added", "c0", Cart), (20, "Task Failed", TaskA, null), (40, "Task Failed", TaskA, Count)],
        // An order stamped before the cart started does not follow it.
        [(0, "Order Completed", "c0", null), (30, "Product Added", "c0", Cart)],
    ];

    private FixedEvents(List<FixedEvent> events, HashSet<(string, string, string)> expected)
    {
        Events = events;
        Expected = expected;
        Start = events[0].At;
        End = events[^1].At + TimeSpan.FromMinutes(6);
    }

    /// <summary>In time order.</summary>
    public IReadOnlyList<FixedEvent> Events { get; }

    /// <summary>What the scripts should give: (user, rule, triggering event id).</summary>
    public IReadOnlySet<(string User, string Rule, string Trigger)> Expected { get; }

    public DateTimeOffset Start { get; }

    /// <summary>Six minutes past the last event: every cart's five minutes have ended.</summary>
    public DateTimeOffset End { get; }

    public static FixedEvents Build(string userPrefix, int users, DateTimeOffset t0)
    {
        var scripted = new List<(long At, int User, string Event, string Value, string? Fires)>();
        for (var u = 0; u < users; u++)
        {
            var start = (u * 2503L) % 600_000; // ms: users start over 10 minutes
            foreach (var (at, name, value, fires) in Scripts[u % Scripts.Length])
            {
                scripted.Add((start + at * 1000L, u, name, value, fires));
            }
            foreach (var at in new[] { 45, 250, 500 })
            {
                scripted.Add((start + at * 1000L, u, at == 250 ? "" : "Feature Used", "dashboard", null));
            }
        }
        var mix = new EventMix(users, seed: 3, userPrefix);
        var events = new List<FixedEvent>(scripted.Count);
        var expected = new HashSet<(string, string, string)>();
        foreach (var s in scripted.OrderBy(s => s.At).ThenBy(s => s.User))
        {
            var at = t0.AddMilliseconds(s.At);
            var (user, body, id) = s.Event switch
            {
                "" => mix.Next(at, s.User, roll: 70), // a screen view
                "Task Failed" => mix.Track(at, s.User, s.Event, "task", s.Value),
                "Feature Used" => mix.Track(at, s.User, s.Event, "feature", s.Value),
                _ => mix.Track(at, s.User, s.Event, "cartId", s.Value),
            };
            events.Add(new FixedEvent(user, at, body, id));
            if (s.Fires is { } rule)
            {
                expected.Add((user, rule, id));
            }
        }
        return new FixedEvents(events, expected);
    }
}
