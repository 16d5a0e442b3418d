using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

/// <summary>
/// Reserve and Settle (<see cref="PaceStage"/>, <see cref="MinuteAsks"/>): the batch's commands on rate-limited channels await
/// their minute unproduced, one ledger call asks for them all, and each grant is added to the batch as a command produced now,
/// a wait for a later minute or an expiry, never changing what decide put there.
/// </summary>
public sealed class SettleTests
{
    private static readonly long Minute = T0.ToUnixTimeMilliseconds() / 60_000;

    private static RuleSet Rules(string policies, string action = "", string policy = "") => RuleSetLoader.Load($$"""
        {{policies}}
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: push, message: { body: hi }{{action}} }
            policy: { {{policy}} }
        """);

    private const string TwoAMinute = "policies: { rateLimit: [ { channel: push, perMinute: 2 } ] }";
    private const string OneAMinute = "policies: { rateLimit: [ { channel: push, perMinute: 1 } ] }";

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

    /// <summary>A worker's decide and pace over one cache of users, batch after batch.</summary>
    private sealed class Worker(RuleSet rules)
    {
        private readonly UserStateCache _cache = new(1000);
        private readonly RecordingEvents _events = new();

        public RuleEngine Engine { get; } = new(rules);
        public CountingLedger Ledger { get; init; } = new();

        public BatchWork Decide(List<SourceRecord> records, DateTimeOffset? now = null)
        {
            var work = new BatchWork();
            var parsed = new ParseStage(new Events.ClickEventParser(new Events.ParserLimits()), ShardOf, _events).Parse(records, work, now ?? T0);
            foreach (var p in parsed.DistinctBy(p => p.Event.UserId))
            {
                if (!_cache.TryGet(p.Shard, p.Event.UserId, out _))
                {
                    _cache.Set(p.Shard, new UserState { UserId = p.Event.UserId });
                }
            }
            new DecideStage(() => Engine, _cache, _events).Apply(parsed, work, now ?? T0);
            return work;
        }

        public BatchWork FireTimers(IEnumerable<string> users, DateTimeOffset now)
        {
            var work = new BatchWork();
            new DecideStage(() => Engine, _cache, _events).FireTimers(ShardOf(Topic, 0), users, work, now);
            return work;
        }

        public Task PaceAsync(BatchWork work, DateTimeOffset? now = null) =>
            new PaceStage(() => Engine, Ledger).PaceAsync(work, new RetryingGate(), now ?? T0, default);

        public UserState User(string id) => _cache.TryGet(ShardOf(Topic, 0), id, out var state) ? state : throw new KeyNotFoundException(id);
    }

    private static List<SourceRecord> Pings(int users) => Enumerable.Range(0, users).Select(i => Record($"u-{i}", "Ping", T0, i)).ToList();

    private static Decision DecisionOf(BatchWork work, string user) => Assert.Single(work.Decisions, d => d.Decision.UserId == user).Decision;

    [Fact]
    public async Task PaceAsync_NoRateLimit_NoLedgerCallAndProducedByDecide()
    {
        var worker = new Worker(Rules(""));
        var work = worker.Decide(Pings(5));

        await worker.PaceAsync(work);

        Assert.Equal(0, worker.Ledger.Calls);
        Assert.Equal(5, work.Interventions.Count);
        Assert.Empty(work.Awaiting);
    }

    [Fact]
    public void Decide_RateLimitedChannel_AwaitsItsMinuteUnproducedUndecidedUnrecorded()
    {
        var worker = new Worker(Rules(TwoAMinute));

        var work = worker.Decide(Pings(1));

        Assert.Empty(work.Interventions);
        Assert.DoesNotContain(work.Decisions, d => d.Decision.RuleId == "ping");
        var user = worker.User("u-0");
        Assert.NotNull(Assert.Single(user.Waiting!).Awaiting);
        Assert.Null(user.Sent);
        Assert.Null(user.Interventions);
        Assert.Null(user.NextDueAt); // settled in its own batch: no timer wakes it
    }

    [Fact]
    public async Task PaceAsync_OverTheLimit_OneLedgerCallForTheBatch()
    {
        var worker = new Worker(Rules(TwoAMinute));
        var work = worker.Decide(Pings(5));

        await worker.PaceAsync(work);

        Assert.Equal(1, worker.Ledger.Calls);
        Assert.Equal(["u-0", "u-1"], work.Interventions.Select(i => i.Command.UserId));
        Assert.Equal(3, work.Decisions.Count(d => d.Decision is { Outcome: Outcomes.Deferred, Reason: Reasons.RateLimit }));
        Assert.Equal(3, work.Counters.Values.Sum(r => r["ping"].GetValueOrDefault("control|deferred")));
        Assert.Equal([Minute + 1, Minute + 1, Minute + 2], new[] { "u-2", "u-3", "u-4" }.Select(u => Assert.Single(worker.User(u).Waiting!).Reserved));
    }

    [Fact]
    public async Task PaceAsync_SameMinuteGrant_ProducedInTheBatchWithItsDeliverAfterToTheMillisecond()
    {
        var worker = new Worker(Rules(TwoAMinute, action: ", delay: 10s"));
        var now = T0.AddMilliseconds(1234);
        var work = worker.Decide([Record("u-0", "Ping", now, 0)], now);

        await worker.PaceAsync(work, now);

        var command = Assert.Single(work.Interventions).Command;
        Assert.Equal(now.AddSeconds(10), command.DeliverAfter);
        Assert.Equal((Outcomes.Emitted, (string?)null, false), (DecisionOf(work, "u-0").Outcome, DecisionOf(work, "u-0").Reason, DecisionOf(work, "u-0").FollowUp));
        var user = worker.User("u-0");
        Assert.Null(user.Waiting);
        Assert.Equal(command.DeliverAfter.ToUnixTimeMilliseconds(), Assert.Single(user.Sent!).At);
        Assert.Equal(command.InterventionId, Assert.Single(user.PendingDeliveries!).InterventionId); // ahead: cancelOn can still withdraw it
    }

    [Fact]
    public async Task PaceAsync_LaterGrant_WaitsWithRateLimitAndIsProducedAtItsMinuteWithoutAskingAgain()
    {
        var worker = new Worker(Rules(OneAMinute));
        var work = worker.Decide(Pings(2));
        await worker.PaceAsync(work);
        var deferred = DecisionOf(work, "u-1");
        Assert.Equal((Outcomes.Deferred, Reasons.RateLimit, Reasons.RateLimit), (deferred.Outcome, deferred.Reason, deferred.Blocked));
        Assert.Equal((T0 + TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds(), worker.User("u-1").NextDueAt);

        var atMinute = worker.FireTimers(["u-1"], T0.AddMinutes(1));
        await worker.PaceAsync(atMinute, T0.AddMinutes(1));

        Assert.Equal(1, worker.Ledger.Calls);
        var command = Assert.Single(atMinute.Interventions).Command;
        Assert.Equal((deferred.InterventionId, T0.AddMinutes(1)), (command.InterventionId, command.DeliverAfter));
        var produced = DecisionOf(atMinute, "u-1");
        Assert.Equal((Outcomes.Emitted, true), (produced.Outcome, produced.FollowUp));
        Assert.Null(worker.User("u-1").Waiting);
    }

    [Fact]
    public async Task PaceAsync_NoMinuteBeforeExpiry_ExpiredBlockedByRateLimitAndNothingKept()
    {
        var worker = new Worker(Rules(OneAMinute, action: ", expires: 30s"));
        var work = worker.Decide(Pings(2));

        await worker.PaceAsync(work);

        Assert.Equal("u-0", Assert.Single(work.Interventions).Command.UserId);
        var expired = DecisionOf(work, "u-1");
        Assert.Equal((Outcomes.Suppressed, Reasons.Expired, Reasons.RateLimit, false), (expired.Outcome, expired.Reason, expired.Blocked, expired.FollowUp));
        Assert.Equal(1, work.Counters.Values.Sum(r => r["ping"].GetValueOrDefault("control|suppressed.expired")));
        var user = worker.User("u-1");
        Assert.Equal((null, null, null), (user.Waiting, user.Sent, user.Interventions));
    }

    [Fact]
    public async Task PaceAsync_CancelOnLaterInTheBatch_EntryRemovedSuppressedAndNeverAsks()
    {
        var worker = new Worker(Rules(OneAMinute, policy: "cancelOn: [ Pong ]"));
        var work = worker.Decide([Record("u-0", "Ping", T0, 0), Record("u-0", "Pong", T0.AddSeconds(5), 1)]);

        await worker.PaceAsync(work);

        Assert.Equal(0, worker.Ledger.Calls);
        Assert.Empty(work.Interventions);
        Assert.Empty(work.Cancellations); // never produced, so nothing to withdraw
        var decision = DecisionOf(work, "u-0");
        Assert.Equal((Outcomes.Suppressed, "cancel_on:pong", false), (decision.Outcome, decision.Reason, decision.FollowUp));
        Assert.Null(worker.User("u-0").Waiting);
    }

    [Fact]
    public async Task PaceAsync_UserPausedLaterInTheBatch_EntrySuppressedAndNeverAsks()
    {
        var worker = new Worker(RuleSetLoader.Load("""
            policies:
              rateLimit: [ { channel: push, perMinute: 1 } ]
              dismissalPause: { after: 1, for: 7d, scope: user }
            rules:
              - id: tip
                trigger: { kind: event, event: Tip }
                action: { moment: education, channel: in_app, message: { body: tip } }
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: hi } }
            """));
        var first = worker.Decide([Record("u-0", "Tip", T0, 0)]);
        var tip = Assert.Single(first.Interventions).Command.InterventionId;
        var dismissed = JsonSerializer.Serialize(new
        {
            type = "track", @event = "Intervention Dismissed", userId = "u-0", messageId = "m-dismiss", timestamp = T0.AddSeconds(2).ToString("O"),
            properties = new { interventionId = tip, ruleId = "tip" },
        });

        var work = worker.Decide([Record("u-0", "Ping", T0.AddSeconds(1), 1), Raw(dismissed, 2)], T0.AddSeconds(2));
        await worker.PaceAsync(work, T0.AddSeconds(2));

        Assert.Equal(0, worker.Ledger.Calls);
        Assert.Empty(work.Interventions);
        Assert.Equal((Outcomes.Suppressed, Reasons.DismissalPause), (DecisionOf(work, "u-0").Outcome, DecisionOf(work, "u-0").Reason));
    }

    [Fact]
    public async Task PaceAsync_WhatDecidePutInTheBatch_NeverChangedOnlyAddedTo()
    {
        // One a minute, expiring 90 s on: u-0 gets its own minute, u-1 the next, u-2 and u-3 none; u-4's is cancelled by decide.
        var worker = new Worker(Rules(OneAMinute, action: ", expires: 90s", policy: "cancelOn: [ Pong ]"));
        var records = Pings(5);
        records.Add(Record("u-4", "Pong", T0.AddSeconds(1), 5));
        var work = worker.Decide(records);
        var interventions = work.Interventions.ToList();
        var decisions = work.Decisions.ToList();
        var cancellations = work.Cancellations.ToList();
        var counters = work.Counters.ToDictionary(s => s.Key, s => s.Value.ToDictionary(r => r.Key, r => new Dictionary<string, long>(r.Value)));

        await worker.PaceAsync(work);

        Assert.Equal(interventions, work.Interventions.Take(interventions.Count));
        Assert.Equal(decisions, work.Decisions.Take(decisions.Count));
        Assert.Equal(cancellations, work.Cancellations);
        Assert.True(decisions.Zip(work.Decisions).All(p => ReferenceEquals(p.First.Decision, p.Second.Decision)));
        Assert.All(counters.SelectMany(s => s.Value.SelectMany(r => r.Value.Select(f => (s.Key, Rule: r.Key, f.Key, f.Value)))),
            c => Assert.True(work.Counters[c.Item1][c.Rule][c.Item3] >= c.Value, $"{c.Rule} {c.Item3} went down"));
        Assert.Equal(["u-0"], work.Interventions.Select(i => i.Command.UserId));
        Assert.Equal(4, work.Decisions.Count - decisions.Count); // one for each settled entry
    }

    [Fact]
    public async Task PaceAsync_CapWaitingEntriesWokenTogether_OneLedgerCallAndOnlyTheirFollowUps()
    {
        // The second ping of each user counts the first, still awaiting its minute, against the cap: it waits an hour.
        var worker = new Worker(Rules(TwoAMinute, action: ", expires: 2h", policy: "caps: [ { max: 1, per: 1h } ]"));
        var work = worker.Decide([Record("u-0", "Ping", T0, 0), Record("u-1", "Ping", T0, 1), Record("u-0", "Ping", T0, 2), Record("u-1", "Ping", T0, 3)]);
        await worker.PaceAsync(work);
        Assert.Equal(2, work.Interventions.Count);
        Assert.Equal(2, work.Decisions.Count(d => d.Decision is { Outcome: Outcomes.Deferred, Reason: Reasons.HourlyCap }));

        var woken = worker.FireTimers(["u-0", "u-1"], T0.AddHours(1));
        Assert.Empty(woken.Interventions);
        await worker.PaceAsync(woken, T0.AddHours(1));

        Assert.Equal(2, worker.Ledger.Calls);
        Assert.Equal([T0.AddHours(1), T0.AddHours(1)], woken.Interventions.Select(i => i.Command.DeliverAfter));
        Assert.All(woken.Decisions, d => Assert.Equal((Outcomes.Emitted, true), (d.Decision.Outcome, d.Decision.FollowUp)));
    }

    [Fact]
    public async Task PaceAsync_ReplyLostAndRetried_OnlyDefersMoreNeverOverTheLimit()
    {
        var worker = new Worker(Rules(TwoAMinute)) { Ledger = new CountingLedger { LoseReplies = 1 } };
        var work = worker.Decide(Pings(5));

        await worker.PaceAsync(work);

        Assert.Equal(2, worker.Ledger.Calls);
        // The lost call took minutes 0–2; the retry's places start behind it, so none goes out in its own minute.
        Assert.Empty(work.Interventions);
        Assert.Equal([Minute + 2, Minute + 3, Minute + 3, Minute + 4, Minute + 4],
            Enumerable.Range(0, 5).Select(i => Assert.Single(worker.User($"u-{i}").Waiting!).Reserved));
        Assert.All(Enumerable.Range(0, 6), m => Assert.True(worker.Ledger.Memory.CountOf("push", Minute + m) <= 2));
    }
}
