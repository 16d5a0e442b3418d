using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

public sealed class RuleEngineTests
{
    private static readonly RuleSet Defaults = RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly RuleEngine _engine = new(Defaults);
    private readonly UserState _state = new();

    private Evaluation Apply(ClickEvent e) => _engine.Apply(_state, e, Next(), _clock.GetUtcNow());

    private Evaluation At(TimeSpan after, Func<DateTimeOffset, ClickEvent> make)
    {
        _clock.SetUtcNow(T0 + after);
        return Apply(make(_clock.GetUtcNow()));
    }

    private Evaluation Advance(TimeSpan by)
    {
        _clock.Advance(by);
        return _engine.FireDue(_state, _clock.GetUtcNow());
    }

    [Fact]
    public void Apply_SameTaskFailsThreeTimesInTenMinutes_EmitsClarification()
    {
        At(TimeSpan.Zero, t => Track("u1", "Task Failed", t, new { task = "notifications-setup" }));
        At(TimeSpan.FromMinutes(4), t => Track("u1", "task_failed", t, new { task = "notifications-setup" }));
        var result = At(TimeSpan.FromMinutes(9), t => Track("u1", "Task Failed", t, new { task = "notifications-setup" }));

        var cmd = Assert.Single(result.Interventions);
        Assert.Equal(("setup-task-failing", "clarification", "in_app"), (cmd.RuleId, cmd.Moment, cmd.Channel));
        Assert.Equal("Trying to set up notifications? Tap here for a 15-second video walkthrough", cmd.Message.Body);
        Assert.Equal(3, cmd.Trigger.EventIds.Count);
        Assert.Equal("PT10M", cmd.Trigger.Details["window"]);
        Assert.Equal(Outcomes.Emitted, Assert.Single(result.Decisions).Outcome);
    }

    [Fact]
    public void Apply_ThirdFailureAfterWindow_EmitsNothing()
    {
        At(TimeSpan.Zero, t => Track("u1", "Task Failed", t, new { task = "a" }));
        At(TimeSpan.FromMinutes(5), t => Track("u1", "Task Failed", t, new { task = "a" }));
        var result = At(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1), t => Track("u1", "Task Failed", t, new { task = "a" }));

        Assert.Empty(result.Interventions);
    }

    [Fact]
    public void Apply_ThreeFailuresOfDifferentTasks_EmitsNothing()
    {
        At(TimeSpan.Zero, t => Track("u1", "Task Failed", t, new { task = "a" }));
        At(TimeSpan.FromMinutes(1), t => Track("u1", "Task Failed", t, new { task = "b" }));
        var result = At(TimeSpan.FromMinutes(2), t => Track("u1", "Task Failed", t, new { task = "a" }));

        Assert.Empty(result.Interventions);
    }

    [Fact]
    public void FireDue_NinetySecondsOnWelcome_EmitsCuriosity()
    {
        At(TimeSpan.Zero, t => Screen("u1", "Welcome", t));

        Assert.Empty(Advance(TimeSpan.FromSeconds(89)).Interventions);
        var cmd = Assert.Single(Advance(TimeSpan.FromSeconds(1)).Interventions);

        Assert.Equal(("welcome-dwell", "curiosity"), (cmd.RuleId, cmd.Moment));
        Assert.Equal("You're getting close—what feature excites you most?", cmd.Message.Body);
        Assert.Equal("Hi there", cmd.Message.Title);
    }

    [Fact]
    public void FireDue_NextEventBeforeNinetySeconds_CancelsDwell()
    {
        At(TimeSpan.Zero, t => Screen("u1", "Welcome", t));
        At(TimeSpan.FromSeconds(80), t => Track("u1", "Onboarding Step Viewed", t));

        Assert.DoesNotContain(Advance(TimeSpan.FromSeconds(20)).Interventions, c => c.RuleId == "welcome-dwell");
    }

    [Fact]
    public void FireDue_CartNotCheckedOutInFiveMinutes_EmitsDiscountDelayed()
    {
        At(TimeSpan.Zero, t => Track("u1", "Product Added", t, new { cartId = "c-9", value = 20 }, device: "mobile"));

        var cmd = Assert.Single(Advance(TimeSpan.FromMinutes(5)).Interventions);

        Assert.Equal(("cart-abandoned", "conversion", "push"), (cmd.RuleId, cmd.Moment, cmd.Channel));
        Assert.Equal("Need help completing your order? Here's a 10% discount", cmd.Message.Body);
        Assert.Equal(TimeSpan.FromSeconds(2.3), cmd.DeliverAfter - cmd.DecidedAt);
        Assert.Equal("app://cart/c-9?coupon=COMEBACK10", cmd.Message.Action!.Url);
    }

    [Fact]
    public void FireDue_OrderCompletedForThatCart_CancelsDiscount()
    {
        At(TimeSpan.Zero, t => Track("u1", "Product Added", t, new { cartId = "c-9" }));
        At(TimeSpan.FromMinutes(4), t => Track("u1", "Order Completed", t, new { cartId = "c-9" }));

        Assert.DoesNotContain(Advance(TimeSpan.FromMinutes(2)).Interventions, c => c.RuleId == "cart-abandoned");
    }

    private static readonly RuleSet Inactivity = RuleSetLoader.Load("""
        rules:
          - id: idle
            trigger: { kind: inactivity, after: 48h }
            action: { moment: re_engagement, channel: email, message: { body: come back } }
        """);

    [Fact]
    public void FireDue_FortyEightHoursSilent_EmitsReEngagement()
    {
        var engine = new RuleEngine(Inactivity);
        var state = new UserState();
        engine.Apply(state, Track("u1", "Feature Used", T0), Next(), T0);

        Assert.Empty(engine.FireDue(state, T0.AddHours(47)).Interventions);
        Assert.Equal("idle", Assert.Single(engine.FireDue(state, T0.AddHours(48)).Interventions).RuleId);
    }

    [Fact]
    public void FireDue_ActivityResetsInactivity()
    {
        var engine = new RuleEngine(Inactivity);
        var state = new UserState();
        engine.Apply(state, Track("u1", "Feature Used", T0), Next(), T0);
        engine.Apply(state, Track("u1", "Feature Used", T0.AddHours(40)), Next(), T0.AddHours(40));

        Assert.Empty(engine.FireDue(state, T0.AddHours(48)).Interventions);
        Assert.Single(engine.FireDue(state, T0.AddHours(88)).Interventions);
    }

    [Fact]
    public void Apply_FourthInterventionInAnHour_WaitsBehindHourlyCapAndFifthSupersedesIt()
    {
        var engine = new RuleEngine(RuleSetLoader.Load("""
            policies: { caps: [ { max: 3, per: 1h } ] }
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, message: { body: hi } }
            """));
        var state = new UserState();
        var results = Enumerable.Range(0, 5)
            .Select(i => engine.Apply(state, Track("u1", "Ping", T0.AddMinutes(i * 10)), Next(), T0.AddMinutes(i * 10)))
            .ToList();

        Assert.Equal([1, 1, 1, 0, 0], results.Select(r => r.Interventions.Count));
        var d = results[3].Decisions.Single();
        Assert.Equal((Outcomes.Deferred, Reasons.HourlyCap, Reasons.HourlyCap), (d.Outcome, d.Reason, d.Blocked));
        var superseded = results[4].Decisions.First();
        Assert.Equal((Outcomes.Suppressed, Reasons.Superseded, d.InterventionId), (superseded.Outcome, superseded.Reason, superseded.InterventionId));
        var afterHour = engine.Apply(state, Track("u1", "Ping", T0.AddMinutes(61)), Next(), T0.AddMinutes(61));
        Assert.Single(afterHour.Interventions);
    }

    [Fact]
    public void Apply_SecondClarificationWithinHour_SuppressedByCooldown()
    {
        for (var n = 0; n < 3; n++)
        {
            At(TimeSpan.FromMinutes(n), t => Track("u1", "Task Failed", t, new { task = "a" }));
        }
        Evaluation last = null!;
        for (var n = 0; n < 3; n++)
        {
            last = At(TimeSpan.FromMinutes(10 + n), t => Track("u1", "Task Failed", t, new { task = "b" }));
        }

        Assert.Equal(Reasons.Cooldown, Assert.Single(last.Decisions).Reason);
    }

    [Fact]
    public void Apply_TwoRulesOnOneEvent_HigherPriorityWins()
    {
        var engine = new RuleEngine(RuleSetLoader.Load("""
            rules:
              - id: low
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, priority: 10, message: { body: low } }
              - id: high
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, priority: 90, message: { body: high } }
            """));

        var r = engine.Apply(new UserState(), Track("u1", "Ping", T0), Next(), T0);

        Assert.Equal("high", Assert.Single(r.Interventions).RuleId);
        Assert.Equal(Reasons.LowerPriority, r.Decisions.Single(d => d.RuleId == "low").Reason);
    }

    [Fact]
    public void Apply_Redelivery_ChangesNothing()
    {
        var e = Track("u1", "Task Failed", T0, new { task = "a" });
        var source = new RecordSource("clickstream", 0, 7, T0);
        _engine.Apply(_state, e, source, T0);
        var before = UserStateSerializer.Serialize(_state);

        var again = _engine.Apply(_state, e, source, T0);

        Assert.False(again.Applied);
        Assert.Equal(before, UserStateSerializer.Serialize(_state));
    }

    [Fact]
    public void Apply_SameTriggerTwiceOnFreshState_GivesSameInterventionId()
    {
        var events = Enumerable.Range(0, 3).Select(i => Track("u1", "Task Failed", T0.AddMinutes(i), new { task = "a" }, id: $"m{i}")).ToList();
        string Run()
        {
            var state = new UserState();
            var engine = new RuleEngine(Defaults);
            return events.Select((e, i) => engine.Apply(state, e, new RecordSource("t", 0, i, T0), T0.AddMinutes(i)))
                .SelectMany(r => r.Interventions).Single().InterventionId;
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Apply_StaleEvent_UpdatesStateButSuppresses()
    {
        for (var n = 0; n < 3; n++)
        {
            var at = T0.AddMinutes(n);
            _clock.SetUtcNow(T0.AddHours(1));
            var r = Apply(Track("u1", "Task Failed", at, new { task = "a" }));
            if (n == 2)
            {
                Assert.Empty(r.Interventions);
                Assert.Equal(Reasons.StaleTrigger, Assert.Single(r.Decisions).Reason);
            }
        }
        Assert.Equal(T0.AddMinutes(2).ToUnixTimeMilliseconds(), _state.LastEventAt);
    }

    [Fact]
    public void State_RoundTripsThroughSerializer()
    {
        At(TimeSpan.Zero, t => Track("u1", "Task Failed", t, new { task = "a" }));
        At(TimeSpan.FromSeconds(1), t => Screen("u1", "Welcome", t));

        var copy = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(_state));

        Assert.Equal(UserStateSerializer.Serialize(_state), UserStateSerializer.Serialize(copy));
        Assert.NotNull(copy.NextDueAt);
    }
}
