using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class PaceStageTests
{
    private static RuleSet Rules(string policies) => RuleSetLoader.Load($$"""
        {{policies}}
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: push, message: { body: hi } }
        """);

    /// <summary>Counts calls; the first <see cref="LoseReplies"/> calls are applied and then fail, as a reply lost on the wire.</summary>
    private sealed class CountingLedger : IRateLedger
    {
        public InMemoryRateLedger Memory { get; } = new();
        public int Calls { get; private set; }
        public int LoseReplies { get; init; }

        public Task<long[]> ReserveAsync(IReadOnlyList<MinuteRequest> requests, DateTimeOffset now, CancellationToken ct)
        {
            var granted = Memory.Reserve(requests);
            return ++Calls <= LoseReplies ? Task.FromException<long[]>(new TimeoutException()) : Task.FromResult(granted);
        }
    }

    private sealed class RetryingGate : IStoreOutageGate
    {
        public async Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null)
        {
            while (true)
            {
                try
                {
                    await stage();
                    return;
                }
                catch (TimeoutException)
                {
                    // the store answers again: retried
                }
            }
        }
    }

    private static BatchWork Decided(RuleEngine engine, int users) =>
        Decided(engine, Enumerable.Range(0, users).Select(i => Record($"u-{i}", "Ping", T0, i)).ToList());

    private static BatchWork Decided(RuleEngine engine, List<SourceRecord> records)
    {
        var cache = new UserStateCache(1000);
        var work = new BatchWork();
        var events = new RecordingEvents();
        var parsed = new ParseStage(new Events.ClickEventParser(new Events.ParserLimits()), ShardOf, events)
            .Parse(records, work, T0);
        foreach (var p in parsed.DistinctBy(p => p.Event.UserId))
        {
            cache.Set(p.Shard, new UserState { UserId = p.Event.UserId });
        }
        new DecideStage(() => engine, cache, events).Apply(parsed, work, T0);
        return work;
    }

    [Fact]
    public async Task PaceAsync_NoRateLimit_NoLedgerCall()
    {
        var engine = new RuleEngine(Rules(""));
        var work = Decided(engine, users: 5);
        var ledger = new CountingLedger();

        await new PaceStage(() => engine, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        Assert.Equal(0, ledger.Calls);
        Assert.All(work.Interventions, i => Assert.Equal(T0, i.Command.DeliverAfter));
    }

    [Fact]
    public async Task PaceAsync_OverTheLimit_OneLedgerCallForTheBatch()
    {
        var engine = new RuleEngine(Rules("policies: { rateLimit: [ { channel: push, perMinute: 2 } ] }"));
        var work = Decided(engine, users: 5);
        var ledger = new CountingLedger();

        await new PaceStage(() => engine, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        Assert.Equal(1, ledger.Calls);
        Assert.Equal([T0, T0, T0.AddMinutes(1), T0.AddMinutes(1), T0.AddMinutes(2)], work.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.Equal(3, work.Decisions.Count(d => d.Decision.Reason == Reasons.RateLimit));
        Assert.Equal(3, work.Counters.Values.Sum(r => r["ping"].GetValueOrDefault("control|deferred")));
    }

    [Fact]
    public async Task PaceAsync_CommandCancelledLaterInTheBatchThenDropped_NoCancellationForIt()
    {
        // Delivery 10 s after the decision, expiry 50 s after that: the second command's next free minute starts at its expiry.
        var engine = new RuleEngine(RuleSetLoader.Load("""
            policies: { rateLimit: [ { channel: push, perMinute: 1 } ] }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, delay: 10s, expires: 50s, message: { body: hi } }
                policy: { cancelOn: [ Order Completed ] }
            """));
        var work = Decided(engine, [Record("u-0", "Ping", T0, 0), Record("u-1", "Ping", T0, 1), Record("u-1", "Order Completed", T0.AddSeconds(5), 2)]);
        Assert.Single(work.Cancellations); // the engine withdrew u-1's command, still pending

        await new PaceStage(() => engine, new CountingLedger()).PaceAsync(work, new RetryingGate(), T0, default);

        Assert.Equal("u-0", Assert.Single(work.Interventions).Command.UserId);
        Assert.Empty(work.Cancellations);
        Assert.DoesNotContain(work.Decisions, d => d.Decision.Outcome == Outcomes.Cancelled);
        Assert.Contains(work.Decisions, d => d.Decision is { UserId: "u-1", Outcome: Outcomes.Suppressed, Reason: Reasons.RateLimit });
        Assert.DoesNotContain("control|cancelled", work.Counters.Values.SelectMany(r => r.Values).SelectMany(f => f.Keys));
    }

    [Fact]
    public async Task PaceAsync_ReplyLostAndRetried_OnlyDefersMoreNeverOverTheLimit()
    {
        var engine = new RuleEngine(Rules("policies: { rateLimit: [ { channel: push, perMinute: 2 } ] }"));
        var work = Decided(engine, users: 5);
        var ledger = new CountingLedger { LoseReplies = 1 };

        await new PaceStage(() => engine, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        var minute = T0.ToUnixTimeMilliseconds() / 60_000;
        Assert.Equal(2, ledger.Calls);
        Assert.Equal(5, work.Interventions.Count);
        // The lost call took minutes 0–2; the retry's places start behind it.
        Assert.Equal([T0.AddMinutes(2), T0.AddMinutes(3), T0.AddMinutes(3), T0.AddMinutes(4), T0.AddMinutes(4)], work.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.All(Enumerable.Range(0, 6), m => Assert.True(ledger.Memory.CountOf("push", minute + m) <= 2));
    }

    private static RuleSet CancellableRules(string expires) => RuleSetLoader.Load($$"""
        policies: { rateLimit: [{ channel: push, perMinute: 1 }] }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: push, expires: {{expires}}, message: { body: hi } }
            policy: { cancelOn: [Pong] }
        """);

    [Fact]
    public async Task PaceAsync_CancelOnLaterInTheBatch_CancelsTheDeferredCommandNotTheOneSentAtOnce()
    {
        var engine = new RuleEngine(CancellableRules("1h"));
        var work = Decided(engine, [Record("u-0", "Ping", T0, 0), Record("u-1", "Ping", T0, 1),
            Record("u-0", "Pong", T0.AddSeconds(10), 2), Record("u-1", "Pong", T0.AddSeconds(10), 3)]);

        await new PaceStage(() => engine, new CountingLedger()).PaceAsync(work, new RetryingGate(), T0, default);

        var deferred = Assert.Single(work.Interventions, i => i.Command.UserId == "u-1").Command;
        Assert.True(deferred.DeliverAfter > T0); // the minute's one send went to u-0
        var cancelled = Assert.Single(work.Cancellations).Cancellation;
        Assert.Equal(deferred.InterventionId, cancelled.InterventionId); // u-0's went out at once: nothing to withdraw
        Assert.Equal(["u-1"], work.Decisions.Where(d => d.Decision.Outcome == Outcomes.Cancelled).Select(d => d.Decision.UserId));
        Assert.All(work.Dirty.Values.SelectMany(u => u.Values), s => Assert.Null(s.PendingDeliveries));
    }

    [Fact]
    public async Task PaceAsync_DroppedCommandWithACancellationBeforeAnotherDrop_EachDecisionKeepsItsOwnOutcome()
    {
        // One send a minute, and commands expire within it: u-1's and u-2's are dropped. u-1's cancellation, decided
        // between them, goes with its command; u-2's decision must still be the one marked suppressed.
        var engine = new RuleEngine(CancellableRules("30s"));
        var work = Decided(engine, [Record("u-0", "Ping", T0, 0), Record("u-1", "Ping", T0, 1),
            Record("u-1", "Pong", T0.AddSeconds(1), 2), Record("u-2", "Ping", T0.AddSeconds(2), 3)]);

        await new PaceStage(() => engine, new CountingLedger()).PaceAsync(work, new RetryingGate(), T0, default);

        var outcomes = work.Decisions.Where(d => d.Decision.RuleId == "ping").ToDictionary(d => d.Decision.UserId, d => (d.Decision.Outcome, d.Decision.Reason));
        Assert.Equal((Outcomes.Emitted, (string?)null), outcomes["u-0"]);
        Assert.Equal((Outcomes.Suppressed, Reasons.RateLimit), outcomes["u-1"]);
        Assert.Equal((Outcomes.Suppressed, Reasons.RateLimit), outcomes["u-2"]);
        Assert.Equal(["u-0"], work.Interventions.Select(i => i.Command.UserId));
        Assert.Empty(work.Cancellations);
    }
}
