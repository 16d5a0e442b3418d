using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Variants that change the timing, the channel and the message, through the offline simulation.</summary>
public sealed class VariantDeliveryTests
{
    private static readonly RuleSet Timing = RuleSetLoader.Load("""
        version: timing
        rules:
          - id: cart-nudge
            trigger: { kind: event, event: Product Added }
            action: { moment: conversion, channel: push, expires: 3h, message: { body: "Your cart is waiting" } }
            conversion: { event: Order Completed, within: 24h }
            experiment:
              name: cart-timing
              variants:
                - { name: now, weight: 1 }
                - name: later
                  weight: 1
                  delay: 1h
                  channel: email
                  message: { title: "Still thinking?", body: "Your cart is still here" }
        """);

    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);

    /// <summary>Each of 40 users adds to the cart once; every command by its arm.</summary>
    private static (Scenario S, List<Interventions.InterventionCommand> Commands) FortyUsers()
    {
        var s = new Scenario(Timing);
        for (var u = 0; u < 40; u++)
        {
            s.Track("Product Added", M(u), user: $"u{u}");
        }
        return (s, s.Of("cart-nudge"));
    }

    [Fact]
    public void TimingExperiment_EachArm_DeliversAtItsOwnDelayOnItsOwnChannel()
    {
        var (_, commands) = FortyUsers();

        Assert.Equal(40, commands.Count);
        var byArm = commands.GroupBy(c => c.Variant).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(["later", "now"], byArm.Keys.Order());
        Assert.All(byArm["now"], c =>
        {
            Assert.Equal(c.DecidedAt, c.DeliverAfter);
            Assert.Equal("push", c.Channel);
            Assert.Equal("Your cart is waiting", c.Message.Body);
            Assert.Equal("cart-timing", c.Experiment);
        });
        Assert.All(byArm["later"], c =>
        {
            Assert.Equal(c.DecidedAt + TimeSpan.FromHours(1), c.DeliverAfter);
            Assert.Equal(c.DeliverAfter + TimeSpan.FromHours(3), c.ExpiresAt);
            Assert.Equal("email", c.Channel);
            Assert.Equal("Your cart is still here", c.Message.Body);
        });
    }

    [Fact]
    public void TimingExperiment_ArmOnTheDecisionAndTheFeedback()
    {
        var (s, commands) = FortyUsers();
        var later = commands.First(c => c.Variant == "later");
        s.Track("Intervention Clicked", M(120), new { interventionId = later.InterventionId, ruleId = "cart-nudge" }, user: later.UserId);

        Assert.Equal("later", s.DecisionsOf("cart-nudge").Single(d => d.InterventionId == later.InterventionId).Variant);
        var click = Assert.Single(s.Simulation.Feedback);
        Assert.Equal(("later", "clicked"), (click.Variant, click.Feedback));
        Assert.Equal(1, s.Simulation.Counters["cart-nudge"]["later|clicked"]);
    }

    [Fact]
    public void CancelledCommand_NamesItsArm()
    {
        var rules = RuleSetLoader.Load("""
            version: cancel
            rules:
              - id: cart-nudge
                trigger: { kind: event, event: Product Added }
                action: { moment: conversion, channel: push, message: { body: "Your cart is waiting" } }
                policy: { cancelOn: [Order Completed] }
                experiment: { variants: [ { name: later, weight: 1, action: { delay: 1h } } ] }
            """);
        var s = new Scenario(rules);
        s.Track("Product Added", M(0)).Track("Order Completed", M(10));

        var cancellation = Assert.Single(s.Simulation.Cancellations);
        Assert.Equal(("later", "cart-nudge"), (cancellation.Variant, cancellation.Experiment));
    }

    [Fact]
    public void VariantSendWindow_DefersOnlyItsArm()
    {
        var rules = RuleSetLoader.Load("""
            version: window
            rules:
              - id: evening
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, expires: 24h, message: { body: pong } }
                experiment:
                  variants:
                    - { name: control, weight: 1 }
                    - { name: evening, weight: 1, deliver: { from: "18:00", to: "21:00" } }
            """);
        var s = new Scenario(rules);
        for (var u = 0; u < 20; u++)
        {
            s.Track("Ping", M(u), user: $"u{u}");
        }

        var commands = s.Of("evening");
        Assert.All(commands.Where(c => c.Variant == "control"), c => Assert.Equal(c.DecidedAt, c.DeliverAfter));
        // T0 is 10:00 UTC, 11:00 in the users' Berlin: the evening arm waits for 18:00 there, 17:00 UTC.
        Assert.All(commands.Where(c => c.Variant == "evening"), c => Assert.Equal(T0.Date.AddHours(17), c.DeliverAfter.UtcDateTime));
        Assert.Contains(commands, c => c.Variant == "evening");
    }

    [Fact]
    public void WaitingCandidate_ControlArmWithItsOwnWindow_PlacedAgainInThatWindow()
    {
        var rules = RuleSetLoader.Load("""
            version: wait
            rules:
              - id: evening
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, expires: 48h, message: { body: pong } }
                policy: { caps: [ { max: 1, per: 2h } ] }
                experiment: { variants: [ { name: control, deliver: { from: "18:00", to: "21:00" } } ] }
            """);
        // 17:00 UTC is 18:00 in Berlin: the first goes at once; the second waits for the cap, to 19:00 UTC (20:00 Berlin, inside
        // the control arm's window); the third, at 20:01 Berlin, would clear the cap at 22:00 Berlin, past the window, so it
        // goes at 18:00 Berlin the next day.
        var s = new Scenario(rules).Track("Ping", TimeSpan.FromHours(7)).Track("Ping", TimeSpan.FromHours(7) + M(1))
            .Track("Ping", TimeSpan.FromHours(9) + M(1)).Advance(TimeSpan.FromHours(40));

        var commands = s.Of("evening");
        Assert.Equal([T0.AddHours(7), T0.AddHours(9), T0.AddHours(31)], commands.Select(c => c.DeliverAfter));
        Assert.All(commands, c => Assert.Equal("control", c.Variant));
    }

    [Fact]
    public void Bandit_WithoutAConversion_Rejected()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            version: bad
            rules:
              - id: r
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: pong } }
                experiment: { allocation: bandit, variants: [ { name: a }, { name: b } ] }
            """));
        Assert.Contains(ex.Errors, e => e.Message.Contains("allocation: bandit needs a 'conversion'", StringComparison.Ordinal) && e.Line == 6);
    }

    [Theory]
    [InlineData("{ name: a, delay: 1h, action: { delay: 2h } }", "sets 'delay' twice")]
    [InlineData("{ name: a, deliver: sometime }", "deliver 'sometime' is not one of now, best_time")]
    [InlineData("{ name: a, channels: { mobile: push } }", "'channels' without a 'default'")]
    [InlineData("{ name: a, action: { priority: 9 } }", "priority")]
    [InlineData("{ name: a, colour: red }", "colour")]
    public void Variant_BadKey_RejectedWithItsLine(string variant, string error)
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load($$"""
            version: bad
            rules:
              - id: r
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: pong } }
                experiment: { variants: [ {{variant}} ] }
            """));
        Assert.Contains(ex.Errors, e => e.Message.Contains(error, StringComparison.Ordinal) && e.Line == 6);
    }

    [Fact]
    public void Allocation_Unknown_Rejected()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            version: bad
            rules:
              - id: r
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: pong } }
                experiment: { allocation: greedy, variants: [ { name: a } ] }
            """));
        Assert.Contains(ex.Errors, e => e.Message.Contains("allocation 'greedy' is not one of weights, bandit", StringComparison.Ordinal));
    }
}
