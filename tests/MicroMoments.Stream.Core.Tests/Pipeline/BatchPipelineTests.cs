using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

/// <summary>The decide path the worker, its warm-up and simulate share: load → decide → pace over the ports each gives it.</summary>
public sealed class BatchPipelineTests
{
    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: hi } }
          - id: welcome
            trigger: { kind: dwell, view: Welcome, after: 90s }
            action: { moment: curiosity, channel: in_app, message: { body: hi } }
          - id: bomb
            trigger: { kind: dwell, view: Bomb, after: 90s }
            action: { moment: curiosity, channel: in_app, message: { body: boom } }
        """);

    private readonly RuleEngine _engine = new(HostileInputTests.WithHugeExpiry(Rules, "bomb"));
    private readonly FakeTimeProvider _time = new(T0);
    private readonly UserStateCache _cache = new(1000);
    private readonly RecordingEvents _events = new();
    private readonly ParseStage _parse;

    public BatchPipelineTests() => _parse = new ParseStage(new ClickEventParser(new ParserLimits()), ShardOf, _events);

    /// <summary>Every shard owned; the shards asked to be acquired, in order.</summary>
    private sealed class RecordingOwnership : IShardOwnership
    {
        public List<string> Acquired { get; } = [];

        public bool Owns(string shard) => true;

        public Task AcquireAsync(IEnumerable<string> shards, CancellationToken ct)
        {
            Acquired.AddRange(shards);
            return Task.CompletedTask;
        }
    }

    /// <summary>A store that is out for a while: the stage runs once the clock has moved on.</summary>
    private sealed class OutageGate(FakeTimeProvider time, TimeSpan outage) : IStoreOutageGate
    {
        public Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null)
        {
            time.Advance(outage);
            return started ?? stage();
        }
    }

    private BatchPipeline Pipeline(IUserStateReader reader, IShardOwnership? ownership = null, IRateLedger? ledger = null, RuleEngine? engine = null)
    {
        var rules = engine ?? _engine;
        return new BatchPipeline(new LoadStage(_cache, reader), new DecideStage(() => rules, _cache, _events),
            new PaceStage(() => rules, ledger ?? new InMemoryRateLedger()), ownership ?? AllShardsOwned.Instance, _time);
    }

    private UserState Stored(InMemoryStateReader reader, string shard, ClickEvent e)
    {
        var state = new UserState { UserId = e.UserId };
        _engine.Apply(state, e, Next(), e.Timestamp);
        reader.States[(shard, e.UserId)] = state;
        return state;
    }

    [Fact]
    public async Task RunAsync_RecordsAndDueTimers_RecordsDecidedFirstThenTimersFired()
    {
        var reader = new InMemoryStateReader();
        Stored(reader, "clickstream:0", Screen("u-waiting", "Welcome", T0));
        _time.Advance(TimeSpan.FromMinutes(2));
        var work = new BatchWork();
        var records = _parse.Parse([Record("u-1", "Ping", T0.AddMinutes(2), 1)], work, _time.GetUtcNow());

        await Pipeline(reader).RunAsync(records, [("clickstream:0", ["u-waiting"])], work, NoOutageGate.Instance, default);

        Assert.Equal([("ping", "u-1"), ("welcome", "u-waiting")], work.Interventions.Select(i => (i.Command.RuleId, i.Command.UserId)));
        Assert.Equal(["u-1", "u-waiting"], work.Dirty["clickstream:0"].Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RunAsync_RulesReadOnce_DecideAndPaceUseTheSameEngine()
    {
        var reads = 0;
        var pipeline = new BatchPipeline(new LoadStage(_cache, new InMemoryStateReader()), new DecideStage(() => { reads++; return _engine; }, _cache, _events),
            new PaceStage(() => throw new InvalidOperationException("pace read the rules again"), new InMemoryRateLedger()), AllShardsOwned.Instance, _time);
        var work = new BatchWork();
        var records = _parse.Parse([Record("u-1", "Ping", T0, 1)], work, T0);

        await pipeline.RunAsync(records, [("clickstream:0", ["u-1"])], work, NoOutageGate.Instance, default);

        Assert.Equal(1, reads); // a reload lands between batches, never between a batch's decide and its pace
        Assert.Single(work.Interventions);
    }

    [Fact]
    public async Task RunAsync_StoreOutDuringTheLoad_DecidedAtTheClockAfterIt()
    {
        var work = new BatchWork();
        var records = _parse.Parse([Record("u-1", "Ping", T0, 1)], work, T0);

        await Pipeline(new InMemoryStateReader()).RunAsync(records, [], work, new OutageGate(_time, TimeSpan.FromMinutes(5)), default);

        Assert.Equal(T0.AddMinutes(5), Assert.Single(work.Interventions).Command.DecidedAt);
    }

    [Fact]
    public async Task RunAsync_AliasNamingAUserOnAnotherShard_ThatShardAcquiredAndTombstoneDirty()
    {
        var reader = new InMemoryStateReader();
        Stored(reader, "clickstream:1", Parse(new { type = "track", @event = "Ping", anonymousId = "anon", messageId = "a-1", timestamp = T0.AddMinutes(-5).ToString("O") }));
        var ownership = new RecordingOwnership();
        var work = new BatchWork();
        var records = _parse.Parse([Record("known", "Ping", T0, 1, previousId: "anon")], work, T0);

        await Pipeline(reader, ownership).RunAsync(records, [], work, NoOutageGate.Instance, default);

        Assert.Equal(["clickstream:0", "clickstream:1"], ownership.Acquired);
        Assert.Equal("known", work.Dirty["clickstream:1"]["anon"].MergedInto);
        Assert.Equal([UserMerge.Merged], _events.AliasOutcomes);
    }

    [Fact]
    public async Task RunAsync_AliasNamingAnIdNeverSeen_ReportedNotFound()
    {
        var work = new BatchWork();
        var records = _parse.Parse([Record("known", "Ping", T0, 1, previousId: "nobody")], work, T0);

        await Pipeline(new InMemoryStateReader()).RunAsync(records, [], work, NoOutageGate.Instance, default);

        Assert.Equal([("nobody", UserMerge.NotFound)], _events.AliasesNotMerged);
    }

    [Fact]
    public async Task RunAsync_TimerRuleThrows_ReportedDueTimersDroppedAndTheBatchGoesOn()
    {
        var reader = new InMemoryStateReader();
        var bad = Stored(reader, "clickstream:0", Screen("bad", "Bomb", T0));
        Stored(reader, "clickstream:0", Screen("good", "Welcome", T0));
        _time.Advance(TimeSpan.FromMinutes(2));
        var work = new BatchWork();

        await Pipeline(reader).RunAsync([], [("clickstream:0", ["bad", "good"])], work, NoOutageGate.Instance, default);

        Assert.Equal([("clickstream:0", "bad")], _events.TimerFailures);
        Assert.DoesNotContain(bad.Timers ?? [], t => t.Id == "bomb"); // dropped, or it would throw again at every check
        Assert.Equal(["good"], work.Interventions.Select(i => i.Command.UserId));
    }

    [Fact]
    public async Task RunAsync_RateLimitedChannel_PacedThroughTheLedger()
    {
        var engine = new RuleEngine(RuleSetLoader.Load("""
            policies: { rateLimit: [ { channel: toast, perMinute: 1 } ] }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, message: { body: hi } }
            """));
        var ledger = new InMemoryRateLedger();
        var work = new BatchWork();
        var records = _parse.Parse([Record("u-1", "Ping", T0, 1), Record("u-2", "Ping", T0, 2), Record("u-3", "Ping", T0, 3)], work, T0);

        await Pipeline(new InMemoryStateReader(), ledger: ledger, engine: engine).RunAsync(records, [], work, NoOutageGate.Instance, default);

        // The first has its own minute and goes out now; the others wait for the minutes they were given (Reserve and Settle).
        Assert.Equal([T0], work.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.Equal(["u-2", "u-3"], work.Decisions.Where(d => d.Decision.Reason == Reasons.RateLimit).Select(d => d.Decision.UserId));
        Assert.Equal(1, ledger.CountOf("toast", T0.AddMinutes(2).ToUnixTimeMilliseconds() / RateLimitPolicy.MinuteMs));
    }

    [Fact]
    public async Task RunAsync_InMemoryUserStates_NewUserAndTombstoneSavedToTheStore()
    {
        var store = new InMemoryUserStates();
        const string shard = InMemoryUserStates.Shard;
        var anonymous = Parse(new { type = "track", @event = "Ping", anonymousId = "anon", messageId = "a-1", timestamp = T0.ToString("O") });
        var alias = Parse(new { type = "alias", userId = "known", previousId = "anon", messageId = "a-2", timestamp = T0.ToString("O") });
        var pipeline = Pipeline(store);

        foreach (var e in new[] { anonymous, alias })
        {
            var work = new BatchWork();
            await pipeline.RunAsync([new ParsedRecord(e, Next(), shard, default, Record(e.UserId, "", T0, 0))], [], work, NoOutageGate.Instance, default);
            store.Save(work);
        }

        Assert.Equal(["anon", "known"], store.Users.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("known", store.Users["anon"].MergedInto);
    }
}
