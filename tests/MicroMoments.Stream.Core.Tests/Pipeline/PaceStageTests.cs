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

    private static BatchWork Decided(RuleSet rules, int users)
    {
        var engine = new RuleEngine(rules);
        var cache = new UserStateCache(1000);
        var work = new BatchWork();
        var events = new RecordingEvents();
        var parsed = new ParseStage(new Events.ClickEventParser(new Events.ParserLimits()), ShardOf, events)
            .Parse(Enumerable.Range(0, users).Select(i => Record($"u-{i}", "Ping", T0, i)).ToList(), work, T0);
        foreach (var p in parsed)
        {
            cache.Set(p.Shard, new UserState { UserId = p.Event.UserId });
        }
        new DecideStage(() => engine, cache, events).Apply(parsed, work, T0);
        return work;
    }

    [Fact]
    public async Task PaceAsync_NoRateLimit_NoLedgerCall()
    {
        var rules = Rules("");
        var work = Decided(rules, users: 5);
        var ledger = new CountingLedger();

        await new PaceStage(() => rules, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        Assert.Equal(0, ledger.Calls);
        Assert.All(work.Interventions, i => Assert.Equal(T0, i.Command.DeliverAfter));
    }

    [Fact]
    public async Task PaceAsync_OverTheLimit_OneLedgerCallForTheBatch()
    {
        var rules = Rules("policies: { rateLimit: [ { channel: push, perMinute: 2 } ] }");
        var work = Decided(rules, users: 5);
        var ledger = new CountingLedger();

        await new PaceStage(() => rules, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        Assert.Equal(1, ledger.Calls);
        Assert.Equal([T0, T0, T0.AddMinutes(1), T0.AddMinutes(1), T0.AddMinutes(2)], work.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.Equal(3, work.Decisions.Count(d => d.Decision.Reason == Reasons.RateLimit));
        Assert.Equal(3, work.Counters.Values.Sum(r => r["ping"].GetValueOrDefault("control|deferred")));
    }

    [Fact]
    public async Task PaceAsync_ReplyLostAndRetried_OnlyDefersMoreNeverOverTheLimit()
    {
        var rules = Rules("policies: { rateLimit: [ { channel: push, perMinute: 2 } ] }");
        var work = Decided(rules, users: 5);
        var ledger = new CountingLedger { LoseReplies = 1 };

        await new PaceStage(() => rules, ledger).PaceAsync(work, new RetryingGate(), T0, default);

        var minute = T0.ToUnixTimeMilliseconds() / 60_000;
        Assert.Equal(2, ledger.Calls);
        Assert.Equal(5, work.Interventions.Count);
        // The lost call took minutes 0–2; the retry's places start behind it.
        Assert.Equal([T0.AddMinutes(2), T0.AddMinutes(3), T0.AddMinutes(3), T0.AddMinutes(4), T0.AddMinutes(4)], work.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.All(Enumerable.Range(0, 6), m => Assert.True(ledger.Memory.CountOf("push", minute + m) <= 2));
    }
}
