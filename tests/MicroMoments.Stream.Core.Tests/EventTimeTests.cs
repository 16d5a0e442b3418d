using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// <c>policies.allowedLateness</c> (docs/rules.md, "Allowed lateness"): a user's events out of order by up to it give the
/// commands of timestamp order, for every trigger kind; later ones update state, never trigger, and are counted.
/// </summary>
public sealed class EventTimeTests
{
    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);

    private static TimeSpan D(double d) => TimeSpan.FromDays(d);

    /// <summary>The default catalogue with <c>allowedLateness: 0</c>: arrival order, as before the key existed.</summary>
    private static readonly RuleSet DefaultsInArrivalOrder = RuleSetLoader.Load(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"))
            .Replace("policies:\n", "policies:\n  allowedLateness: 0\n", StringComparison.Ordinal));

    // The first finding: mobile batching delivers the order before the product added 2 minutes earlier.
    [Fact]
    public void OrderCompletedArrivesBeforeItsProductAdded_NoDiscount()
    {
        var s = new Scenario()
            .Track("Order Completed", M(4), new { cartId = "c1", value = 30 }, traits: new { plan = "paid" })
            .Track("Product Added", M(2), new { cartId = "c1", value = 30 })
            .Advance(D(3));

        Assert.Empty(s.Of("cart-abandoned"));
        Assert.Empty(s.Of("cart-abandoned-escalation"));
    }

    [Fact]
    public void OrderCompletedArrivesBeforeItsProductAdded_LatenessZero_DiscountAsInArrivalOrder()
    {
        var s = new Scenario(DefaultsInArrivalOrder)
            .Track("Order Completed", M(4), new { cartId = "c1", value = 30 })
            .Track("Product Added", M(2), new { cartId = "c1", value = 30 })
            .Advance(M(30));

        Assert.Single(s.Of("cart-abandoned"));
    }

    [Fact]
    public void OrderCompletedOfAnotherCartArrivesFirst_DiscountStillSent()
    {
        var s = new Scenario()
            .Track("Order Completed", M(4), new { cartId = "c2", value = 30 })
            .Track("Product Added", M(2), new { cartId = "c1", value = 30 })
            .Advance(M(30));

        Assert.Single(s.Of("cart-abandoned"));
    }

    [Fact]
    public void OrderCompletedStampedBeforeItsProductAdded_DoesNotSatisfyIt()
    {
        // Stamped before the start: in timestamp order it came first and was not a follow-up.
        var s = new Scenario()
            .Track("Product Added", M(2), new { cartId = "c1", value = 30 })
            .Track("Order Completed", M(1), new { cartId = "c1", value = 30 })
            .Advance(M(30));

        Assert.Single(s.Of("cart-abandoned"));
    }

    // The second finding: a day-5 event at 23:58 (Berlin) arrives after day 6's 00:01.
    /// <summary>Day 5 at 23:58 in Berlin (T0 is 11:00 there); day 6 starts 2 minutes later.</summary>
    private static readonly TimeSpan Day5At2358 = D(4) + TimeSpan.FromHours(12) + M(58);

    /// <summary>Active on days 1–4, then the day-5 event at 23:58 and day 6's at 00:01, in the order given.</summary>
    private static Scenario StreakJourney(RuleSet? rules, params TimeSpan[] last)
    {
        var s = new Scenario(rules);
        for (var d = 0; d < 4; d++)
        {
            s.Track("Feature Used", D(d), new { feature = "reports" });
        }
        foreach (var at in last)
        {
            s.Track("Feature Used", at, new { feature = "reports" });
        }
        return s;
    }

    [Fact]
    public void Day5EventArrivesAfterDay6_StreakCelebrated()
    {
        var s = StreakJourney(null, Day5At2358 + M(3), Day5At2358);
        var inOrder = StreakJourney(null, Day5At2358, Day5At2358 + M(3));

        var celebration = Assert.Single(s.Of("streak-5-days"));
        Assert.Equal(Assert.Single(inOrder.Of("streak-5-days")).InterventionId, celebration.InterventionId);
        Assert.Equal(6, s.Simulation.Users["u1"].StreakDays);
    }

    [Fact]
    public void Day5EventArrivesAfterDay6_LatenessZero_StreakBrokenAsInArrivalOrder() =>
        Assert.Empty(StreakJourney(DefaultsInArrivalOrder, Day5At2358 + M(3), Day5At2358).Of("streak-5-days"));

    // One per trigger kind, with a small rule set of its own and a delay, so that a command decided before a reordered
    // event arrived can still be withdrawn.
    private const string Header = "version: t\npolicies: { allowedLateness: 5m }\nrules:\n";

    private static string Rule(string id, string trigger, string extra = "") =>
        $"  - id: {id}\n    trigger: {trigger}\n{extra}    action: {{ moment: m, channel: in_app, priority: 50, delay: 10m, message: {{ title: t, body: b }} }}\n";

    [Fact]
    public void Count_HitsReordered_SameGroupsAndIdsAsTimestampOrder()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: count, event: Task Failed, times: 2, within: 10m }"));
        var events = new[] { ("a", 0.0), ("b", 1.0), ("c", 2.0), ("d", 3.0) };

        var sorted = Run(rules, events.Select(x => Track(x.Item1, "Task Failed", x.Item2)));
        var shuffled = Run(rules, new[] { events[0], events[2], events[1], events[3] }.Select(x => Track(x.Item1, "Task Failed", x.Item2)));

        Assert.Equal(2, sorted.Effective.Count);
        Assert.Equal(sorted.Effective, shuffled.Effective);
        // a+c fired first, before b arrived; b showed that timestamp order pairs a+b: the a+c command is withdrawn.
        Assert.Equal(CancelReasons.LateEvent, Assert.Single(shuffled.Sim.Cancellations).Reason);
    }

    [Fact]
    public void Absence_FollowUpArrivesFirst_NothingArmed()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: absence, event: Product Added, missing: Order Completed, within: 5m }"));

        var run = Run(rules, [Track("o", "Order Completed", 3), Track("p", "Product Added", 1)]);

        Assert.Empty(run.Effective);
    }

    [Fact]
    public void Dwell_EventStampedBeforeTheViewArrivesAfterIt_DwellStands()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: dwell, view: Welcome, after: 90s }"));

        var run = Run(rules, [Screen("v", "Welcome", 1), Track("e", "Feature Used", 0.5)]);
        var sorted = Run(rules, [Track("e", "Feature Used", 0.5), Screen("v", "Welcome", 1)]);

        Assert.Single(run.Effective);
        Assert.Equal(sorted.Effective, run.Effective);
    }

    [Fact]
    public void Dwell_EventStampedWithinItArrivesAfterItFired_CommandWithdrawn()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: dwell, view: Welcome, after: 90s }"));

        // The clock passes the dwell's due time (2.5 min) before the event stamped at 2 min arrives.
        var run = Run(rules, [Screen("v", "Welcome", 1), Track("x", "Other", 3), Track("e", "Feature Used", 2)]);

        Assert.Empty(run.Effective);
        Assert.Equal(CancelReasons.LateEvent, Assert.Single(run.Sim.Cancellations).Reason);
    }

    [Fact]
    public void Inactivity_ReorderedEvent_TimerNamedByTheLatestEvent()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: inactivity, after: 1h }"));

        var run = Run(rules, [Track("b", "Other", 2), Track("a", "Other", 1)]);
        var sorted = Run(rules, [Track("a", "Other", 1), Track("b", "Other", 2)]);

        Assert.Single(run.Effective);
        Assert.Equal(sorted.Effective, run.Effective);
    }

    [Fact]
    public void Inactivity_EventStampedWithinTheStretchArrivesAfterItFired_CommandWithdrawnAsInTimestampOrder()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: inactivity, after: 3m }"));

        // The clock passes the idle due time (3 min) with x, before e, stamped at 2 min, arrives.
        var run = Run(rules, [Track("a", "Other", 0), Track("x", "Other", 4), Track("e", "Other", 2)]);
        var sorted = Run(rules, [Track("a", "Other", 0), Track("e", "Other", 2), Track("x", "Other", 4)]);

        Assert.Equal(CancelReasons.LateEvent, Assert.Single(run.Sim.Cancellations).Reason);
        Assert.Single(run.Effective);
        Assert.Equal(sorted.Effective, run.Effective);
    }

    [Fact]
    public void Streak_Reordered_SameKeyAsTimestampOrder()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: streak, days: 2 }"));

        // T0 is 10:00 UTC: midnight is 14 h later; a before it, b after it.
        var run = Run(rules, [Track("b", "Other", 14 * 60 + 1), Track("a", "Other", 14 * 60 - 1)]);
        var sorted = Run(rules, [Track("a", "Other", 14 * 60 - 1), Track("b", "Other", 14 * 60 + 1)]);

        Assert.Single(run.Effective);
        Assert.Equal(sorted.Effective, run.Effective);
    }

    [Fact]
    public void Threshold_Reordered_FiresOnceAsInTimestampOrder()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: threshold, event: Feature Used, metric: featureUses, atLeast: 2 }"));

        var run = Run(rules, [Track("b", "Feature Used", 2, "reports"), Track("a", "Feature Used", 1, "reports")]);

        Assert.Single(run.Effective);
    }

    [Fact]
    public void Event_Reordered_FiresOnItsOwnEvent()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: event, event: Content Shared }"));

        var run = Run(rules, [Track("b", "Other", 2), Track("a", "Content Shared", 1)]);

        Assert.Equal([("r", InterventionIds.Create("u1", "r", "a"))], run.Effective);
    }

    [Fact]
    public void LateBeyondTheLateness_UpdatesStateNeverTriggersAndIsCounted()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: event, event: Content Shared }")
            + Rule("uses", "{ kind: count, event: Feature Used, times: 2, within: 1h }"));

        var run = Run(rules, [Track("x", "Feature Used", 20, "reports"), Track("a", "Content Shared", 10), Track("y", "Feature Used", 11, "reports")]);

        Assert.Empty(run.Effective);
        var state = run.Sim.Users["u1"];
        Assert.Equal(2, state.FeatureCounts!["reports"]); // applied to state
        var late = run.Sim.Decisions.Where(d => d.Reason == Reasons.LateEvent).Select(d => d.RuleId).ToList();
        Assert.Equal(["r", "uses"], late);
        Assert.Equal(2, run.Sim.Decisions.Count(d => d.Outcome == Outcomes.Suppressed));
    }

    [Fact]
    public void LateBeyondTheLateness_CountedInTheEvaluation()
    {
        var rules = RuleSetLoader.Load(Header + Rule("r", "{ kind: event, event: Content Shared }"));
        var engine = new RuleEngine(rules, new EngineOptions { CheckStaleness = false });
        var state = new UserState { UserId = "u1" };
        var t0 = Scenario.T0;

        engine.Apply(state, TestEvents.Track("u1", "Other", t0 + M(20), id: "m1"), new RecordSource("t", 0, 1, t0), t0 + M(20));
        var late = engine.Apply(state, TestEvents.Track("u1", "Content Shared", t0, id: "m2"), new RecordSource("t", 0, 2, t0), t0 + M(20));

        Assert.Equal(1, late.LateEvents);
        Assert.Empty(late.Interventions);
        Assert.Equal(Reasons.LateEvent, Assert.Single(late.Decisions).Reason);
    }

    [Fact]
    public void LatenessZero_ReorderedEventTriggersAsItArrives()
    {
        var rules = RuleSetLoader.Load(Header.Replace("5m", "0", StringComparison.Ordinal) + Rule("r", "{ kind: event, event: Content Shared }"));

        var run = Run(rules, [Track("x", "Other", 60), Track("a", "Content Shared", 0)]);

        Assert.Single(run.Effective);
        Assert.DoesNotContain(run.Sim.Decisions, d => d.Reason == Reasons.LateEvent);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    public void AllowedLateness_Read(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RuleSetLoader.Load($"version: t\npolicies: {{ allowedLateness: {text} }}\nrules: []\n").AllowedLateness);

    [Fact]
    public void AllowedLateness_Default_FiveMinutes() =>
        Assert.Equal(TimeSpan.FromMinutes(5), RuleSetLoader.Load("version: t\nrules: []\n").AllowedLateness);

    [Fact]
    public void AllowedLateness_OverTenMinutes_Refused()
    {
        var errors = new List<RuleError>();
        Assert.Null(RuleSetLoader.TryLoad("version: t\npolicies: { allowedLateness: 1h }\nrules: []\n", errors));
        Assert.Contains("allowedLateness", Assert.Single(errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EventTimeState_RoundTripsContainerAndJson()
    {
        var state = new UserState
        {
            UserId = "u1", LastEventAt = 1_800_000_000_000, LastActiveDay = 20_000, StreakDays = 3,
            EventTime = new EventTimeState
            {
                ActiveDays = 0b1011,
                MissingSeen = new Dictionary<string, long> { ["cart|c1"] = 1_799_999_990_000 },
                FiredGroups = [new FiredGroup("r", [new WindowHit(1_799_999_000_000, "a"), new WindowHit(1_799_999_500_000, "b")])],
            },
        };

        foreach (var bytes in new[] { StateContainer.Serialize(state), UserStateSerializer.Serialize(state, UserStateFormat.Binary), UserStateSerializer.ToJson(state) })
        {
            var back = UserStateSerializer.Deserialize(bytes);
            Assert.Equal(0b1011u, back.EventTime!.ActiveDays);
            Assert.Equal(1_799_999_990_000, back.EventTime.MissingSeen!["cart|c1"]);
            Assert.Equal(["a", "b"], back.EventTime.FiredGroups!.Single().Hits.Select(h => h.EventId));
        }
    }

    [Fact]
    public void StateWithoutEventTime_ReadsAsBeforeAndItsStreakStandsForTheSet()
    {
        // A state as the version before this one wrote it: no event-time section; its 4-day streak ends on day 20,000.
        var old = new UserState { UserId = "u1", LastEventAt = 1_728_000_000_000, LastActiveDay = 20_000, StreakDays = 4, Timezone = "UTC" };
        var back = UserStateSerializer.Deserialize(StateContainer.Serialize(old));
        Assert.Null(back.EventTime);

        var day = DateTimeOffset.FromUnixTimeSeconds(20_001L * 86_400 + 60);
        UserProfile.Observe(back, TestEvents.Track("u1", "Other", day, id: "m1"), eventTime: true);

        Assert.Equal(5, back.StreakDays);
        Assert.Null(back.EventTime); // one run: the streak stands for it
    }

    [Fact]
    public void EventTimeState_ActiveEveryDay_KeepsNothing()
    {
        var s = new Scenario();
        for (var d = 0; d < 40; d++)
        {
            s.Track("Feature Used", D(d), new { feature = "reports" });
        }

        Assert.Equal(40, s.Simulation.Users["u1"].StreakDays);
        Assert.Null(s.Simulation.Users["u1"].EventTime);
    }

    [Fact]
    public void EventTimeState_DaysWithAGap_KeepsTheSetInAFewBytes()
    {
        var s = new Scenario();
        foreach (var d in new[] { 0, 1, 2, 4 })
        {
            s.Track("Feature Used", D(d), new { feature = "reports" });
        }
        var state = s.Simulation.Users["u1"];
        var with = StateContainer.Serialize(state).Length;
        var days = state.EventTime!.ActiveDays;
        state.EventTime = null;
        var without = StateContainer.Serialize(state).Length;

        Assert.Equal(0b11101u, days); // bit i: i days before the latest (day 4); day 3 is the gap
        Assert.InRange(with - without, 1, 4);
    }

    internal sealed record Outcome(OfflineSimulation Sim, List<(string RuleId, string InterventionId)> Effective);

    /// <summary>
    /// The events in the order given, then a week; the commands not withdrawn, in id order. A candidate that lost a same-event
    /// collision (<c>lower_priority</c>) counts as a command: which events share a step depends on arrival, and the schedule
    /// defers the loser rather than dropping it (docs/delivery-time.md, part 2). It counts once: the loser produced at its later
    /// slot keeps the id it was deferred with.
    /// </summary>
    internal static Outcome Run(RuleSet rules, IEnumerable<string> lines)
    {
        var sim = new OfflineSimulation(rules);
        var n = 0L;
        foreach (var line in lines)
        {
            Assert.True(sim.Feed(line, ++n).IsValid);
        }
        sim.AdvanceTo(sim.Clock + D(7));
        var withdrawn = sim.Cancellations.Select(c => c.InterventionId).ToHashSet(StringComparer.Ordinal);
        var lost = sim.Decisions.Where(d => d.Reason == Reasons.LowerPriority).Select(d => (d.RuleId, InterventionId: d.InterventionId ?? ""));
        return new Outcome(sim, sim.Interventions.Where(c => !withdrawn.Contains(c.InterventionId))
            .Select(c => (c.RuleId, c.InterventionId)).Concat(lost).Distinct().OrderBy(x => x.InterventionId, StringComparer.Ordinal).ToList());
    }

    internal static string Track(string id, string name, double minutes, string? feature = null) =>
        JsonSerializer.Serialize(new
        {
            type = "track", @event = name, userId = "u1", messageId = id, timestamp = (Scenario.T0 + M(minutes)).ToString("O"),
            properties = feature is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["feature"] = feature },
            context = new { timezone = "UTC" },
        });

    internal static string Screen(string id, string name, double minutes) =>
        JsonSerializer.Serialize(new
        {
            type = "screen", name, userId = "u1", messageId = id, timestamp = (Scenario.T0 + M(minutes)).ToString("O"),
            context = new { timezone = "UTC" },
        });
}
