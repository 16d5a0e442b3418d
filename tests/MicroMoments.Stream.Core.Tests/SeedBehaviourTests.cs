using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Issue 12's seed behaviours on realistic sequences, each with a near miss, through the offline simulation.</summary>
public sealed class SeedBehaviourTests
{
    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);
    private static TimeSpan H(double h) => TimeSpan.FromHours(h);
    private static TimeSpan D(double d) => TimeSpan.FromDays(d);

    // Progressive disclosure follows the lifecycle, not the archetype.
    private static readonly string[] FiveFeatures = ["dashboard", "reports", "automations", "integrations", "api-keys"];

    /// <summary>A user who tries five features (an explorer at once), then uses three of them a 4th time: three tips due within 50 minutes.</summary>
    private static Scenario ThreeTipsAfterSignUp(TimeSpan signUpAgo)
    {
        var s = new Scenario().Track("Signed Up", TimeSpan.Zero);
        var start = signUpAgo;
        for (var i = 0; i < FiveFeatures.Length; i++)
        {
            s.Track("Feature Used", start + M(1 + i), new { feature = FiveFeatures[i] });
        }
        foreach (var (feature, at) in new[] { ("reports", 8), ("automations", 25), ("integrations", 45) })
        {
            for (var i = 0; i < 3; i++)
            {
                s.Track("Feature Used", start + M(at + i), new { feature });
            }
        }
        return s;
    }

    [Fact]
    public void ProgressiveDisclosure_NewcomerTurnedExplorer_StillOneTipPer24Hours()
    {
        var s = ThreeTipsAfterSignUp(TimeSpan.Zero);

        Assert.Equal("explorer", UserProfile.Archetype(s.Simulation.Users["u1"], T0 + M(50)));
        Assert.Single(s.Of("feature-advanced-tooltip"));
        // Disclosure would move them a day on, past their hour of validity: expired, blocked by disclosure.
        Assert.Equal([(Reasons.Expired, Reasons.ProgressiveDisclosure), (Reasons.Expired, Reasons.ProgressiveDisclosure)],
            s.DecisionsOf("feature-advanced-tooltip").Skip(1).Select(d => (d.Reason, d.Blocked)));
    }

    [Fact]
    public void ProgressiveDisclosure_SevenDaysAfterSignUp_NearMiss_TipsNoLongerHeldBack() =>
        Assert.Equal(3, ThreeTipsAfterSignUp(D(7) + M(1)).Of("feature-advanced-tooltip").Count);

    // A first completion is compared with the population's usual time.
    private static Scenario Population(int users)
    {
        var s = new Scenario();
        for (var i = 0; i < users; i++)
        {
            s.Track("Task Completed", M(i), new { task = "import", durationMs = 10000 }, user: $"other-{i}");
        }
        return s;
    }

    [Fact]
    public void FasterThanUsual_FirstCompletionHalfThePopulationsTime_EmitsShortcutGuide()
    {
        var c = Assert.Single(Population(5).Track("Task Completed", H(1), new { task = "import", durationMs = 5000 }).Of("faster-than-usual"));
        Assert.Equal("You finished import in record time—here's a shortcut guide to go even faster.", c.Message.Body);
    }

    [Fact]
    public void FasterThanUsual_FirstCompletionOnlyAThirdFaster_NearMiss_EmitsNothing() =>
        Assert.Empty(Population(5).Track("Task Completed", H(1), new { task = "import", durationMs = 6500 }).Of("faster-than-usual"));

    [Fact]
    public void FasterThanUsual_FirstCompletionWhileThePopulationHasTooFewVotes_NearMiss_EmitsNothing() =>
        Assert.Empty(Population(PopulationBaseline.MinSamples - 1).Track("Task Completed", H(1), new { task = "import", durationMs = 5000 }).Of("faster-than-usual"));

    // Each default nudge with a natural next level escalates once after 48 h without a response.
    [Fact]
    public void CartDiscountUnanswered48Hours_EscalatesOnceForTheSameCart()
    {
        var s = new Scenario().Track("Product Added", M(0), new { cartId = "c1" }, device: "mobile").Advance(D(6));
        var first = Assert.Single(s.Of("cart-abandoned"));
        var next = Assert.Single(s.Of("cart-abandoned-escalation"));
        Assert.Equal(first.InterventionId, (string)next.Trigger.Details["interventionId"]);
        Assert.Equal(("email", "buy", "app://cart/c1?coupon=COMEBACK15"), (next.Channel, next.Intent, next.Message.Action!.Url));
        Assert.InRange(next.DecidedAt - first.DecidedAt, H(48), H(48) + M(1));
    }

    [Fact]
    public void CartOrderedAfterTheDiscount_NearMiss_DoesNotEscalate()
    {
        var s = new Scenario().Track("Product Added", M(0), new { cartId = "c1" }).Advance(M(6));
        Assert.Single(s.Of("cart-abandoned"));
        s.Track("Order Completed", H(47), new { cartId = "c1" }).Advance(D(6));
        Assert.Empty(s.Of("cart-abandoned-escalation"));
    }

    [Fact]
    public void StillAway48HoursAfterWeSavedYourSpot_EscalatesOnce()
    {
        var s = new Scenario().Track("Feature Used", M(0), new { feature = "reports" }).Advance(D(10));
        Assert.Single(s.Of("inactive-3-days"));
        var next = Assert.Single(s.Of("inactive-3-days-escalation"));
        Assert.Equal(("What's new since you left", "know"), (next.Message.Title, next.Intent));
    }

    [Fact]
    public void BackWithoutTappingWeSavedYourSpot_NearMiss_DoesNotEscalate()
    {
        var s = new Scenario().Track("Feature Used", M(0), new { feature = "reports" }).Advance(H(80));
        Assert.Single(s.Of("inactive-3-days"));
        s.Track("Feature Used", H(110), new { feature = "reports" }).Advance(H(140));
        Assert.Empty(s.Of("inactive-3-days-escalation"));
        Assert.Empty(s.DecisionsOf("inactive-3-days-escalation")); // its condition did not hold: not even a decision
    }

    [Fact]
    public void OnboardingStep3VideoUnanswered48Hours_EscalatesOnceByEmail()
    {
        var s = new Scenario().Track("Onboarding Step Viewed", M(0), new { step = 3, totalSteps = 5 }).Advance(D(4));
        var next = Assert.Single(s.Of("onboarding-step-3-abandoned-escalation"));
        Assert.Equal(("email", "do"), (next.Channel, next.Intent));
    }

    [Fact]
    public void OnboardingStep3CompletedAfterTheVideo_NearMiss_DoesNotEscalate() =>
        Assert.Empty(new Scenario().Track("Onboarding Step Viewed", M(0), new { step = 3, totalSteps = 5 })
            .Track("Onboarding Step Completed", H(24), new { step = 3, totalSteps = 5 }).Advance(D(4)).Of("onboarding-step-3-abandoned-escalation"));

    [Fact]
    public void DefaultCatalogue_EscalatesTheNudgesWithANextLevel()
    {
        var escalated = Defaults.Rules.Select(r => r.Trigger).OfType<EscalationTrigger>().Select(t => t.Rule).Order(StringComparer.Ordinal);
        Assert.Equal(["cart-abandoned", "explorer-try-it-out", "inactive-3-days", "onboarding-step-3-abandoned"], escalated);
    }

    // Session shortening fires for any drop of 15 % or more.
    private static Scenario Sessions(double secondSessionMinutes) => new Scenario()
        .Track("Page Action", M(0)).Track("Page Action", M(10))
        .Track("Page Action", H(1)).Track("Page Action", H(1) + M(secondSessionMinutes))
        .Track("Page Action", H(2));

    [Fact]
    public void SessionShortening_FortyPercentDrop_EmitsNudge() =>
        Assert.Equal(0.4, (double)Assert.Single(Sessions(6).Of("session-shortening")).Trigger.Details["value"]);

    [Fact]
    public void SessionShortening_FourteenPercentDrop_NearMiss_EmitsNothing() => Assert.Empty(Sessions(8.6).Of("session-shortening"));

    // Every command carries an intent: the rule's, or else derived from the triggering events.
    [Fact]
    public void DefaultCatalogue_EveryRuleNamesItsIntent() =>
        Assert.All(Defaults.Rules, r => Assert.Contains(r.Action.Intent, new[] { "know", "go", "do", "buy" }));

    private static readonly RuleSet NoIntents = RuleSetLoader.Load("""
        rules:
          - { id: cart, trigger: { kind: event, event: Checkout Started }, action: { moment: conversion, channel: in_app, message: { body: b } } }
          - { id: failed, trigger: { kind: event, event: Task Failed }, action: { moment: clarification, channel: in_app, message: { body: b } } }
          - { id: setup, trigger: { kind: event, event: Setup Completed }, action: { moment: curiosity, channel: in_app, message: { body: b } } }
          - { id: store, trigger: { kind: event, event: Store Locator Viewed }, action: { moment: conversion, channel: push, message: { body: b } } }
          - { id: help, trigger: { kind: absence, event: Help Center Viewed, missing: Help Center Exited, within: 5m }, action: { moment: clarification, channel: in_app, message: { body: b } } }
          - { id: own, trigger: { kind: event, event: Order Completed }, action: { moment: reward, channel: in_app, intent: do, message: { body: b } } }
          - { id: idle, trigger: { kind: inactivity, after: 1h }, action: { moment: re_engagement, channel: email, message: { body: b } } }
          - { id: idle-next, trigger: { kind: escalation, rule: help, after: 48h }, action: { moment: clarification, channel: email, message: { body: b } } }
        """);

    [Theory]
    [InlineData("Checkout Started", "cart", "buy")]
    [InlineData("Task Failed", "failed", "know")]
    [InlineData("Setup Completed", "setup", "do")]
    [InlineData("Store Locator Viewed", "store", "go")]
    public void Intent_RuleWithoutOne_DerivedFromTheTriggeringEvent(string name, string rule, string intent) =>
        Assert.Equal(intent, Assert.Single(new Scenario(NoIntents).Track(name, M(0)).Of(rule)).Intent);

    [Fact]
    public void Intent_TimerRulesWithoutOne_DerivedFromTheEventTheyWatch()
    {
        var s = new Scenario(NoIntents).Track("Help Center Viewed", M(0)).Advance(D(3));
        Assert.Equal("know", Assert.Single(s.Of("help")).Intent);
        Assert.Equal("know", Assert.Single(s.Of("idle-next")).Intent); // an escalation serves what it escalates
        Assert.Equal("do", Assert.Single(s.Of("idle")).Intent);
        Assert.All(s.Simulation.Interventions, c => Assert.NotNull(c.Intent));
    }

    [Fact]
    public void Intent_RulesOwn_NearMiss_WinsOverTheEvents() =>
        Assert.Equal("do", Assert.Single(new Scenario(NoIntents).Track("Order Completed", M(0)).Of("own")).Intent);

    [Fact]
    public void Load_IntentOutsideTheFour_ErrorWithLine()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            rules:
              - id: r
                trigger: { kind: event, event: A }
                action: { moment: m, channel: in_app, intent: browse, message: { body: b } }
            """));
        Assert.Contains(ex.Errors, e => e.Line == 4 && e.Message.Contains("intent 'browse'", StringComparison.Ordinal));
    }

    // Every documented value path renders in templates, event.* included.
    private static readonly RuleSet EventPaths = RuleSetLoader.Load("""
        rules:
          - id: r
            trigger: { kind: event, event: Form Completed }
            when: [{ path: event.form, equals: profile }]
            action:
              moment: education
              channel: in_app
              message:
                title: "{{event.name}}"
                body: "{{event.form | label}} via {{event.intent}} on {{user.device}}: {{event.missing ?? nothing}}"
                action: { label: "{{rule.id}}", url: "app://forms/{{event.form}}?n={{event.name}}" }
        """);

    [Fact]
    public void Templates_EventPaths_RenderAsInConditions()
    {
        var c = Assert.Single(new Scenario(EventPaths).Track("Form Completed", M(0), new { form = "profile" }).Of("r"));
        Assert.Equal(("Form Completed", "profile via do on desktop: nothing"), (c.Message.Title, c.Message.Body));
        Assert.Equal(("r", "app://forms/profile?n=Form%20Completed"), (c.Message.Action!.Label, c.Message.Action.Url));
    }

    [Fact]
    public void Templates_EventPaths_OtherForm_NearMiss_ConditionStillReadsTheEvent() =>
        Assert.Empty(new Scenario(EventPaths).Track("Form Completed", M(0), new { form = "billing" }).Of("r"));

    private static IReadOnlyList<RuleError> Errors(string yaml) => Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml)).Errors;

    [Fact]
    public void Validate_UnknownPathRootInTemplate_ErrorWithLine()
    {
        var e = Assert.Single(Errors("""
            rules:
              - id: r
                trigger: { kind: event, event: A }
                action:
                  moment: m
                  channel: in_app
                  message: { body: "Hi {{bogus.path}}" }
            """));
        Assert.Equal(7, e.Line);
        Assert.Contains("unknown path root 'bogus'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownPathsAndFiltersAnywhere_ErrorEachWithItsLine()
    {
        var errors = Errors("""
            rules:
              - id: r
                trigger: { kind: event, event: A }
                when:
                  - { path: event.step, equals: "{{state.nope}}" }
                action:
                  moment: m
                  channel: in_app
                  message:
                    title: "{{trigger.task | upper}}"
                    body: "{{user.traits.name ?? there}}"
                    action: { label: Go, url: "app://{{time.week}}" }
            """);
        Assert.Equal([5, 10, 12], errors.Select(e => e.Line).Order());
        Assert.Contains("unknown filter 'upper'", errors.Single(e => e.Line == 10).Message, StringComparison.Ordinal);
        Assert.Contains("unknown path 'time.week'", errors.Single(e => e.Line == 12).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EventPathInATimerRule_ErrorWithLine() =>
        Assert.Equal(6, Assert.Single(Errors("""
            rules:
              - id: r
                trigger: { kind: absence, event: A, missing: B, within: 5m }
                action:
                  moment: m
                  message: { body: "{{event.cartId}}" }
                  channel: in_app
            """)).Line);

    [Fact]
    public void Validate_EveryDocumentedPathAndTheLabelFilter_NearMiss_Accepted()
    {
        string[] paths =
        [
            "user.id", "user.device", "user.timezone", "user.lifecycleStage", "user.segment", "user.archetype", "user.traits.name",
            "user.location.city", "state.engagementScore", "state.streakDays", "state.lastFeature", "state.unusedFeature",
            "state.featuresUsed", "state.featureUses.reports", "state.onboardingStep", "state.onboardingTotal", "state.onboardingCompleted",
            "state.lastSessionMinutes", "state.sessionBaselineMinutes", "state.hoursSinceLastEvent", "event.name", "event.intent",
            "event.view", "event.anyProperty", "trigger.task", "time.hour", "time.dayOfWeek", "time.localTime", "rule.id",
        ];
        var body = string.Join(" ", paths.Select(p => $"{{{{{p} | label ?? -}}}}"));
        var set = RuleSetLoader.Load($$"""
            rules:
              - id: r
                trigger: { kind: event, event: A }
                action: { moment: m, channel: in_app, message: { body: {{JsonSerializer.Serialize(body)}} } }
            """);
        Assert.Single(set.Rules);
    }

    // Seed 004's location-aware I-want-to-go moment on mobile.
    private static Scenario ProductViewed(string device, object? location)
    {
        var s = new Scenario();
        var result = s.Simulation.Feed(JsonSerializer.Serialize(new
        {
            type = "track", @event = "Product Viewed", userId = "u1", messageId = "pv-1", timestamp = T0.ToString("O"),
            properties = new { product_id = "p-7", name = "Trail Shoe" },
            context = new { device = new { type = device }, timezone = "Europe/Berlin", location },
        }), 1);
        Assert.True(result.IsValid, result.Error);
        return s;
    }

    /// <remarks>Needs the parser's <c>context.location</c> → <c>user.location.*</c> and <c>ios</c> → mobile (issue 12, Segment's Spec).</remarks>
    [Fact]
    public void StoreNearby_ProductViewedOnIosWithALocation_EmitsGoIntentPush()
    {
        var c = Assert.Single(ProductViewed("ios", new { city = "Berlin", country = "Germany", latitude = 52.52, longitude = 13.405 }).Of("store-nearby"));
        Assert.Equal(("go", "push"), (c.Intent, c.Channel));
        Assert.Equal("A store near Berlin has Trail Shoe in stock", c.Message.Body);
        Assert.Equal("app://stores/nearby?city=Berlin", c.Message.Action!.Url);
    }

    [Fact]
    public void StoreNearby_SameViewOnDesktop_NearMiss_EmitsNothing() =>
        Assert.Empty(ProductViewed("desktop", new { city = "Berlin" }).Of("store-nearby"));

    [Fact]
    public void StoreNearby_MobileWithoutALocation_NearMiss_EmitsNothing() =>
        Assert.Empty(ProductViewed("mobile", null).Of("store-nearby"));
}
