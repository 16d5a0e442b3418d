using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Edges of the delivery schedule a review found: a timer step that throws after deciding part of itself, an alias that
/// brings a waiting entry of a rule the user already waits for, a settled entry that meets a newer waiting one, a stored
/// event-time state that cannot be used, a <c>per</c> value too long to keep, and the in-memory ledger's forgetting.
/// </summary>
public sealed class ScheduleEdgeTests
{
    private static readonly DateTimeOffset T0 = Scenario.T0;

    [Fact]
    public void FireDue_ARuleThrowsAfterAnotherFired_WhatFiredStandsAndTheFailureIsReported()
    {
        var engine = new RuleEngine(HostileInputTests.WithHugeExpiry(RuleSetLoader.Load("""
            rules:
              - id: cart
                trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 1m }
                action: { moment: recovery, channel: in_app, message: { body: come back } }
              - id: bomb
                trigger: { kind: dwell, view: Bomb, after: 90s }
                action: { moment: curiosity, channel: in_app, message: { body: boom } }
            """), "bomb"));
        var state = new UserState { UserId = "u1" };
        engine.Apply(state, Track("u1", "Product Added", T0), Next(), T0);
        engine.Apply(state, Screen("u1", "Bomb", T0.AddSeconds(1)), Next(), T0.AddSeconds(1));

        var fired = engine.FireDue(state, T0.AddMinutes(5));

        Assert.NotNull(fired.Failure);
        Assert.Equal(["cart"], fired.Interventions.Select(c => c.RuleId));
        Assert.Null(state.NextDueAt); // the bomb's timer is dropped: it would throw again at every check
    }

    private static WaitingDelivery Entry(string ruleId, string id) => new()
    {
        InterventionId = id, RuleId = ruleId, Channel = "in_app", Priority = 50, Slot = T0.AddHours(1).ToUnixTimeMilliseconds(),
        ExpiresAt = T0.AddDays(1).ToUnixTimeMilliseconds(), Blocked = Reasons.HourlyCap, TriggerAt = T0.ToUnixTimeMilliseconds(),
        TriggerKind = "event", EventIds = ["e1"], Title = "t", Body = "b", Intent = "i",
    };

    [Fact]
    public void MergeAlias_AnonymousWaitsForARuleTheUserWaitsFor_TheUsersStaysAndTheOtherIsSuperseded()
    {
        var engine = new RuleEngine(RuleSetLoader.Load("rules: []"));
        var into = new UserState { UserId = "known", Waiting = [Entry("tip", "mine")] };
        var from = new UserState { UserId = "anon", Anonymous = true, Waiting = [Entry("tip", "theirs"), Entry("other", "moved")] };

        var merge = engine.MergeAlias(into, from, T0);

        Assert.Equal(["mine", "moved"], into.Waiting!.Select(w => w.InterventionId));
        var superseded = Assert.Single(merge.FollowUps!.Decisions);
        Assert.Equal(("theirs", Outcomes.Suppressed, Reasons.Superseded), (superseded.InterventionId, superseded.Outcome, superseded.Reason));
    }

    [Fact]
    public void Settle_LaterMinuteWhileANewerCandidateOfTheRuleWaits_TheAwaitingOneIsSuperseded()
    {
        var engine = new RuleEngine(RuleSetLoader.Load("""
            policies: { rateLimit: [ { channel: push, perMinute: 1 } ] }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: hi } }
                policy: { caps: [ { max: 1, per: 1h } ] }
            """));
        var state = new UserState { UserId = "u1" };
        engine.Apply(state, Track("u1", "Ping", T0, id: "p1"), Next(), T0);
        var awaiting = Assert.Single(state.Waiting!, w => w.Awaiting is not null);
        engine.Apply(state, Track("u1", "Ping", T0.AddSeconds(5), id: "p2"), Next(), T0.AddSeconds(5)); // the cap counts the first: it waits

        var settled = engine.Settle(state, awaiting, RateLimitPolicy.MinuteOf(T0.ToUnixTimeMilliseconds()) + 3, T0.AddSeconds(5));

        var decision = Assert.Single(settled.Decisions);
        Assert.Equal((awaiting.InterventionId, Reasons.Superseded), (decision.InterventionId, decision.Reason));
        Assert.Single(state.Waiting!, w => w.RuleId == "ping");
        Assert.Null(awaiting.Awaiting);
    }

    [Fact]
    public void StoredEventTime_FiredGroupWithoutHits_StateUnusable()
    {
        var state = new UserState
        {
            UserId = "u1", LastEventAt = T0.ToUnixTimeMilliseconds(),
            EventTime = new EventTimeState { FiredGroups = [new FiredGroup("failing", [])] },
        };

        Assert.NotNull(UserStateCheck.Problem(state, "u1"));
        Assert.NotNull(UserStateCheck.Problem(UserStateSerializer.Deserialize(UserStateSerializer.ToJson(
            new UserState { UserId = "u1", EventTime = new EventTimeState { FiredGroups = [new FiredGroup("failing", null!)] } })), "u1"));
    }

    [Fact]
    public void TakeCancelled_EntryWhosePerValueWasTooLongToKeep_WithdrawnByAnyValue()
    {
        var kept = Entry("cart", "a");
        kept.Per = "c1";
        var unkept = Entry("cart", "b"); // Per null: the value was over the state's string bound
        var state = new UserState { UserId = "u1", Waiting = [kept, unkept] };

        var taken = DeliverySchedule.TakeCancelled(state, "cart", "c2");

        Assert.Equal(["b"], taken.Select(w => w.InterventionId));
    }

    [Fact]
    public async Task InMemoryLedger_MinuteWithinTheLatenessAskedAgainAfterAnHour_StillCounted()
    {
        var ledger = new InMemoryRateLedger();
        var t0 = T0;
        var minute = t0.ToUnixTimeMilliseconds() / RateLimitPolicy.MinuteMs;
        MinuteRequest Ask(long m) => new("push", 1, m, m + 30);

        await ledger.ReserveAsync([Ask(minute)], t0, default); // the first call: forgetting starts here
        var first = await ledger.ReserveAsync([Ask(minute + 55)], t0.AddMinutes(58), default);
        // An hour on, a command timed by its event 5 minutes back asks for the same minute.
        var second = await ledger.ReserveAsync([Ask(minute + 55)], t0.AddMinutes(60), default);

        Assert.Equal(minute + 55, first[0]);
        Assert.Equal(minute + 56, second[0]);
    }
}
