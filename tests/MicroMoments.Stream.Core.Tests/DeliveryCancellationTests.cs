using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Delivery validation: <c>policy.cancelOn</c> and pauses withdraw commands whose deliverAfter is still ahead.</summary>
public sealed class DeliveryCancellationTests
{
    private static readonly RuleSet Defaults = RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));

    /// <summary>22:58 in Berlin (the test events' zone): the default quiet hours (22:00–07:00) defer what fires now.</summary>
    private static readonly DateTimeOffset Evening = new(2026, 11, 24, 21, 58, 0, TimeSpan.Zero);

    /// <summary>07:00 in Berlin the next morning: where quiet hours defer the cart nudge to.</summary>
    private static readonly DateTimeOffset Morning = new(2026, 11, 25, 6, 0, 0, TimeSpan.Zero);

    private readonly UserState _state = new();
    private RuleEngine _engine = new(Defaults);

    private Evaluation Apply(DateTimeOffset at, string name, object? properties = null) =>
        _engine.Apply(_state, Track("u1", name, at, properties), Next(), at);

    /// <summary>A cart abandoned late in the evening: the nudge is sent at 23:03, deferred to 07:00.</summary>
    private InterventionCommand DeferredCartNudge(string cart = "c1")
    {
        Apply(Evening, "Product Added", new { cartId = cart });
        var fired = _engine.FireDue(_state, Evening + TimeSpan.FromMinutes(5));
        var command = Assert.Single(fired.Interventions, c => c.RuleId == "cart-abandoned");
        Assert.Equal(Morning, command.DeliverAfter);
        return command;
    }

    [Fact]
    public void Apply_OrderCompletedDuringQuietHours_CancelsDeferredCommand()
    {
        var command = DeferredCartNudge();

        var result = Apply(Morning - TimeSpan.FromHours(1), "Order Completed", new { cartId = "c1" });

        var cancellation = Assert.Single(result.Cancellations);
        Assert.Equal((command.InterventionId, "u1", "cart-abandoned", "cancel_on:order completed"),
            (cancellation.InterventionId, cancellation.UserId, cancellation.RuleId, cancellation.Reason));
        var decision = Assert.Single(result.Decisions, d => d.Outcome == Outcomes.Cancelled);
        Assert.Equal((command.InterventionId, "cancel_on:order completed"), (decision.InterventionId, decision.Reason));
        Assert.Contains(new StatIncrement("cart-abandoned", "control", "cancelled"), result.Stats);
        Assert.Null(_state.PendingDeliveries);
    }

    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, false)]
    [InlineData(60_000, false)]
    public void Apply_OrderCompletedNearDeliverAfter_CancelsOnlyBeforeIt(int afterDeliverAfterMs, bool cancelled)
    {
        var command = DeferredCartNudge();

        var result = Apply(command.DeliverAfter + TimeSpan.FromMilliseconds(afterDeliverAfterMs), "Order Completed", new { cartId = "c1" });

        Assert.Equal(cancelled, result.Cancellations.Count == 1);
        Assert.Equal(cancelled, result.Decisions.Exists(d => d.Outcome == Outcomes.Cancelled));
        Assert.Null(_state.PendingDeliveries); // cancelled, or due: the entry is gone either way
    }

    [Fact]
    public void Apply_OrderCompletedForOtherCart_NoCancellation()
    {
        DeferredCartNudge("c1");

        var other = Apply(Morning - TimeSpan.FromHours(1), "Order Completed", new { cartId = "c2" });
        var none = Apply(Morning - TimeSpan.FromMinutes(50), "Order Completed");

        Assert.Empty(other.Cancellations);
        Assert.Empty(none.Cancellations);
        Assert.Equal("c1", Assert.Single(_state.PendingDeliveries!).Per);
    }

    [Fact]
    public void Apply_TwoCancelOnEvents_OneCancellation()
    {
        DeferredCartNudge();

        var first = Apply(Morning - TimeSpan.FromHours(2), "Order Completed", new { cartId = "c1" });
        var second = Apply(Morning - TimeSpan.FromHours(1), "Order Completed", new { cartId = "c1" });

        Assert.Single(first.Cancellations);
        Assert.Empty(second.Cancellations);
        Assert.DoesNotContain(second.Decisions, d => d.Outcome == Outcomes.Cancelled);
    }

    [Fact]
    public void Apply_SuppressedCommandsCancelOnEvent_NoCancellation()
    {
        // The second cart's nudge is suppressed by the rule's 24 h cooldown: it was never sent, so it is never cancelled.
        Apply(Evening, "Product Added", new { cartId = "c1" });
        Apply(Evening + TimeSpan.FromMinutes(1), "Product Added", new { cartId = "c2" });
        var sent = Assert.Single(_engine.FireDue(_state, Evening + TimeSpan.FromMinutes(5)).Interventions);
        var suppressed = _engine.FireDue(_state, Evening + TimeSpan.FromMinutes(6));
        Assert.Equal(Reasons.Cooldown, Assert.Single(suppressed.Decisions).Reason);

        var forSuppressed = Apply(Morning - TimeSpan.FromHours(2), "Order Completed", new { cartId = "c2" });
        var forSent = Apply(Morning - TimeSpan.FromHours(1), "Order Completed", new { cartId = "c1" });

        Assert.Empty(forSuppressed.Cancellations);
        Assert.Equal(sent.InterventionId, Assert.Single(forSent.Cancellations).InterventionId);
    }

    [Fact]
    public void Apply_CommandDueNow_IsNotKeptAndNeverCancelled()
    {
        _engine = new RuleEngine(RuleSetLoader.Load("""
            rules:
              - id: nudge
                trigger: { kind: event, event: Report Viewed }
                action: { moment: education, channel: in_app, message: { body: hi } }
                policy: { cancelOn: [Report Closed] }
            """));

        Assert.Single(Apply(T0, "Report Viewed").Interventions);
        var result = Apply(T0, "Report Closed");

        Assert.Null(_state.PendingDeliveries);
        Assert.Empty(result.Cancellations);
    }

    private static readonly string DismissalRules = """
        version: t
        policies: { dismissalPause: { after: 1, for: 7d } }
        rules:
          - id: nudge
            trigger: { kind: event, event: Report Viewed }
            action: { moment: education, channel: in_app, delay: 1h, message: { body: hi } }
        """;

    [Theory]
    [InlineData(30, true)]
    [InlineData(60, false)]
    public void Apply_DismissalPauseWhilePending_CancelsBeforeDeliverAfter(int dismissedAfterMinutes, bool cancelled)
    {
        _engine = new RuleEngine(RuleSetLoader.Load(DismissalRules));
        var first = Assert.Single(Apply(T0, "Report Viewed").Interventions);
        var pending = Assert.Single(Apply(T0 + TimeSpan.FromHours(2), "Report Viewed").Interventions);
        Assert.Equal(pending.InterventionId, Assert.Single(_state.PendingDeliveries!).InterventionId); // the first one's time has come

        var result = Apply(T0 + TimeSpan.FromHours(2) + TimeSpan.FromMinutes(dismissedAfterMinutes), "Intervention Dismissed",
            new { interventionId = first.InterventionId, ruleId = "nudge" });

        Assert.Equal(cancelled ? [(pending.InterventionId, CancelReasons.DismissalPause)] : [],
            result.Cancellations.Select(c => (c.InterventionId, c.Reason)));
        Assert.Equal(cancelled ? 1 : 0, result.Decisions.Count(d => d.Outcome == Outcomes.Cancelled && d.Reason == Reasons.DismissalPause));
    }

    [Fact]
    public void Apply_AutoPauseAfterSend_CancelsPendingCommand()
    {
        _engine = new RuleEngine(RuleSetLoader.Load("""
            policies: { autoPause: { after: 1, for: 7d } }
            rules:
              - id: nudge
                trigger: { kind: event, event: Report Viewed }
                action: { moment: education, channel: in_app, delay: 2h, message: { body: hi } }
            """));
        Apply(T0, "Report Viewed");
        var pending = Assert.Single(Apply(T0 + TimeSpan.FromHours(47), "Report Viewed").Interventions);

        // The first nudge is now 48 h unanswered: the next candidate starts the pause, which withdraws the pending one.
        var result = Apply(T0 + TimeSpan.FromHours(48), "Report Viewed");

        Assert.Equal(Reasons.AutoPause, result.Decisions.Single(d => d.Outcome == Outcomes.Suppressed).Reason);
        var cancellation = Assert.Single(result.Cancellations);
        Assert.Equal((pending.InterventionId, CancelReasons.AutoPause), (cancellation.InterventionId, cancellation.Reason));
    }

    [Fact]
    public void Apply_CancelOnEventOfCountRuleWithPer_CancelsOnlyThatValue()
    {
        _engine = new RuleEngine(RuleSetLoader.Load("""
            rules:
              - id: struggling
                trigger: { kind: count, event: Task Failed, times: 2, within: 10m, per: task }
                action: { moment: clarification, channel: in_app, delay: 1h, message: { body: hi } }
                policy: { cancelOn: [task_completed] }
            """));
        Apply(T0, "Task Failed", new { task = "a" });
        var command = Assert.Single(Apply(T0 + TimeSpan.FromMinutes(1), "Task Failed", new { task = "a" }).Interventions);

        var other = Apply(T0 + TimeSpan.FromMinutes(2), "Task Completed", new { task = "b" });
        var same = Apply(T0 + TimeSpan.FromMinutes(3), "Task Completed", new { task = "a" });

        Assert.Empty(other.Cancellations);
        Assert.Equal((command.InterventionId, "cancel_on:task completed"), (Assert.Single(same.Cancellations).InterventionId, same.Cancellations[0].Reason));
    }

    [Fact]
    public void Apply_CancelOnEvent_CancelsTheRulesTimerForThatValueOnly()
    {
        _engine = new RuleEngine(RuleSetLoader.Load("""
            rules:
              - id: cart
                trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 5m, per: cartId }
                action: { moment: conversion, channel: in_app, message: { body: hi } }
                policy: { cancelOn: [Checkout Started] }
            """));
        Apply(T0, "Product Added", new { cartId = "c1" });
        Apply(T0, "Product Added", new { cartId = "c2" });

        Apply(T0 + TimeSpan.FromMinutes(4), "Checkout Started", new { cartId = "c1" });
        var fired = _engine.FireDue(_state, T0 + TimeSpan.FromMinutes(5));

        Assert.Equal("c2", Assert.Single(fired.Interventions).Trigger.Details["cartId"].ToString());
    }

    [Fact]
    public void MergeAlias_AnonymousPendingCommand_CancelledKeyedToTheAnonymousId()
    {
        var anonymous = new UserState();
        _engine.Apply(anonymous, Parse(new
        {
            type = "track", @event = "Product Added", anonymousId = "anon-1", messageId = "m-anon", timestamp = Evening.ToString("O"),
            properties = new { cartId = "c1" }, context = new { timezone = "Europe/Berlin" },
        }), Next(), Evening);
        var command = Assert.Single(_engine.FireDue(anonymous, Evening + TimeSpan.FromMinutes(5)).Interventions);
        Apply(Evening + TimeSpan.FromMinutes(6), "Signed Up");

        Assert.NotNull(_engine.MergeAlias(_state, anonymous).Tombstone);
        var result = Apply(Morning - TimeSpan.FromHours(1), "Order Completed", new { cartId = "c1" });

        var cancellation = Assert.Single(result.Cancellations);
        Assert.Equal((command.InterventionId, "anon-1"), (cancellation.InterventionId, cancellation.UserId));
        Assert.Equal(command.UserId, cancellation.UserId);
    }

    [Fact]
    public void FireDue_AfterDeliverAfter_DropsThePendingEntry()
    {
        DeferredCartNudge();

        _engine.FireDue(_state, Morning);

        Assert.Null(_state.PendingDeliveries);
    }

    [Fact]
    public void Track_ManyPendingCommands_KeepsTheBoundDroppingTheSoonest()
    {
        var rule = Defaults.Find("cart-abandoned")!;
        for (var i = 0; i <= DeliveryCancellation.MaxPending; i++)
        {
            DeliveryCancellation.Track(_state, rule, Command($"id-{i}", T0 + TimeSpan.FromMinutes(i + 1)), T0, new StateLimits());
        }
        // A later deliverAfter for a tracked command (a rate limit deferring it) updates its entry.
        DeliveryCancellation.Track(_state, rule, Command("id-1", T0 + TimeSpan.FromHours(5)), T0, new StateLimits());

        Assert.Equal(DeliveryCancellation.MaxPending, _state.PendingDeliveries!.Count);
        Assert.DoesNotContain(_state.PendingDeliveries, p => p.InterventionId == "id-0");
        Assert.Equal((T0 + TimeSpan.FromHours(5)).ToUnixTimeMilliseconds(), _state.PendingDeliveries.Single(p => p.InterventionId == "id-1").DeliverAfter);
    }

    private static InterventionCommand Command(string id, DateTimeOffset deliverAfter) => new()
    {
        InterventionId = id, UserId = "u1", RuleId = "cart-abandoned", RuleVersion = "v", Moment = "conversion", Channel = "in_app", Priority = 90,
        Message = new InterventionMessage("t", "b", null), DeliverAfter = deliverAfter, ExpiresAt = deliverAfter + TimeSpan.FromHours(1),
        Trigger = new TriggerInfo("absence", [], new Dictionary<string, object>(PropertyNames.Comparer) { ["cartId"] = "c9" }),
        User = new UserSummary("new", "newcomer", null, null), Intent = "buy",
    };

    [Fact]
    public void Serialize_PendingDeliveries_RoundTripInBothFormsAndOldStatesRead()
    {
        _state.UserId = "u1";
        _state.LastEventAt = T0.ToUnixTimeMilliseconds();
        _state.PendingDeliveries =
        [
            new PendingDelivery { InterventionId = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b", RuleId = "cart-abandoned", Channel = "push", DeliverAfter = T0.ToUnixTimeMilliseconds() + 3_600_000, Per = "c1" },
            new PendingDelivery { InterventionId = "x", RuleId = "nudge", Channel = "in_app", DeliverAfter = T0.ToUnixTimeMilliseconds() + 1, UserId = "anon-1" },
        ];
        var json = Encoding.UTF8.GetString(UserStateSerializer.ToJson(_state));

        var binary = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(_state));
        var fromJson = UserStateSerializer.Deserialize(Encoding.UTF8.GetBytes(json));
        byte[] old = [LegacyFormat1.Version1, 0x01, 0x04, (byte)'a']; // format 1 as written before the field: user "a"

        Assert.Equal(json, Encoding.UTF8.GetString(UserStateSerializer.ToJson(binary)));
        Assert.Equal(json, Encoding.UTF8.GetString(UserStateSerializer.ToJson(fromJson)));
        Assert.Null(UserStateSerializer.Deserialize(old).PendingDeliveries);
    }

    [Fact]
    public void Serialize_PendingCartNudge_CostsUnder32Bytes()
    {
        DeferredCartNudge();
        var with = UserStateSerializer.Serialize(_state).Length;
        var pending = _state.PendingDeliveries;
        _state.PendingDeliveries = null;
        var without = UserStateSerializer.Serialize(_state).Length;
        _state.PendingDeliveries = pending;

        Assert.InRange(with - without, 1, 31); // 28 bytes: flags, a 16-byte id, rule and channel back-references, a time delta, the cart id
    }

    [Fact]
    public void Load_CancelOn_NormalisedPerRuleAndAbsenceDefaultsToMissing()
    {
        var rules = RuleSetLoader.Load("""
            rules:
              - id: a
                trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 5m }
                action: { moment: conversion, channel: in_app, message: { body: hi } }
              - id: b
                trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 5m }
                action: { moment: conversion, channel: in_app, message: { body: hi } }
                policy: { cancelOn: [] }
              - id: c
                trigger: { kind: event, event: Report Viewed }
                action: { moment: education, channel: in_app, message: { body: hi } }
                policy: { cancelOn: [Report_Closed, report closed, Signed Out] }
            """);

        Assert.Equal(["order completed"], DeliveryCancellation.CancelOn(rules.Find("a")!));
        Assert.Empty(DeliveryCancellation.CancelOn(rules.Find("b")!));
        Assert.Equal(["report closed", "signed out"], DeliveryCancellation.CancelOn(rules.Find("c")!));
    }

    [Fact]
    public void Load_CancelOnUnderGlobalPolicies_Rejected()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            policies:
              cancelOn: [Order Completed]
            rules: []
            """));

        Assert.Contains(ex.Errors, e => e.Line == 2 && e.Message.Contains("per-rule", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_SchemaAcceptsCancelOnPerRule()
    {
        var schema = await RulesSchemaTests.SchemaAsync();

        var errors = schema.Validate(RulesSchemaTests.YamlToJson("""
            rules:
              - id: r
                trigger: { kind: event, event: Report Viewed }
                action: { moment: education, channel: in_app, message: { body: hi } }
                policy: { cancelOn: [Report Closed] }
            """));

        Assert.Empty(errors);
    }

    [Fact]
    public void Simulate_OrderCompletedDuringQuietHours_PrintsCancellationAfterItsCommand()
    {
        var simulation = new OfflineSimulation(Defaults);
        string Line(string name, DateTimeOffset at) => JsonSerializer.Serialize(new
        {
            type = "track", @event = name, userId = "u1", messageId = $"{name}-{at:O}", timestamp = at.ToString("O"),
            properties = new { cartId = "c1" }, context = new { timezone = "Europe/Berlin" },
        });

        simulation.Feed(Line("Product Added", Evening), 1);
        simulation.Feed(Line("Order Completed", Morning - TimeSpan.FromHours(1)), 2);
        simulation.AdvanceBy(TimeSpan.FromDays(1));

        var output = simulation.Output.Select(m => JsonDocument.Parse(m.Encode()).RootElement).ToList();
        Assert.Equal(["io.micromoments.intervention.v1", InterventionCancellation.EventType], output.Select(o => o.GetProperty("type").GetString()));
        var (command, cancellation) = (output[0], output[1]);
        Assert.Equal(command.GetProperty("subject").GetString(), cancellation.GetProperty("subject").GetString());
        Assert.NotEqual(command.GetProperty("id").GetString(), cancellation.GetProperty("id").GetString());
        Assert.Equal("2026-11-25T05:00:00Z", cancellation.GetProperty("time").GetString());
        Assert.Equal(
            $$"""{"interventionId":"{{command.GetProperty("id").GetString()}}","userId":"u1","ruleId":"cart-abandoned","reason":"cancel_on:order completed","variant":"control","experiment":null}""",
            cancellation.GetProperty("data").GetRawText());
        Assert.Contains(simulation.Decisions, d => d.Outcome == Outcomes.Cancelled);
    }
}
