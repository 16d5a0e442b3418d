using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Each rule of the default catalogue, and a near miss just short of it.</summary>
public sealed class CatalogueTests
{
    private static TimeSpan S(double s) => TimeSpan.FromSeconds(s);
    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);
    private static TimeSpan H(double h) => TimeSpan.FromHours(h);
    private static TimeSpan D(double d) => TimeSpan.FromDays(d);

    // (1) final onboarding step skipped or stalled
    [Fact]
    public void FinalStepSkipped_EmitsConfidence()
    {
        var s = new Scenario().Track("Onboarding Step Skipped", M(0), new { step = 5, totalSteps = 5 });
        var c = Assert.Single(s.Of("onboarding-final-step-skipped"));
        Assert.Equal(("confidence", "Final step complete—your personalized dashboard is ready in 10 seconds"), (c.Moment, c.Message.Body));
    }

    [Fact]
    public void EarlierStepSkipped_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Onboarding Step Skipped", M(0), new { step = 4, totalSteps = 5 }).Of("onboarding-final-step-skipped"));

    [Fact]
    public void FinalStepStalledTwoMinutes_EmitsConfidence() =>
        Assert.Single(new Scenario().Track("Onboarding Step Viewed", M(0), new { step = 5, totalSteps = 5 }).Advance(M(2)).Of("onboarding-final-step-stalled"));

    [Fact]
    public void FinalStepCompletedJustInTime_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Onboarding Step Viewed", M(0), new { step = 5, totalSteps = 5 })
            .Track("Onboarding Step Completed", S(119), new { step = 5, totalSteps = 5 }).Advance(M(10)).Of("onboarding-final-step-stalled"));

    // (2) the same setup task fails 3 times in 10 minutes
    [Fact]
    public void TaskFailsThreeTimes_EmitsWalkthrough()
    {
        var s = new Scenario();
        for (var i = 0; i < 3; i++)
        {
            s.Track("Task Failed", M(i * 4), new { task = "notifications-setup" });
        }
        Assert.Equal("Trying to set up notifications? Tap here for a 15-second video walkthrough", Assert.Single(s.Of("setup-task-failing")).Message.Body);
    }

    [Fact]
    public void TaskFailsTwice_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Task Failed", M(0), new { task = "a" }).Track("Task Failed", M(1), new { task = "a" }).Of("setup-task-failing"));

    // (3) 90+ s on the welcome screen
    [Fact]
    public void NinetySecondsOnWelcome_EmitsCuriosity() =>
        Assert.Equal("You're getting close—what feature excites you most?",
            Assert.Single(new Scenario().Screen("Welcome", S(0)).Advance(S(90)).Of("welcome-dwell")).Message.Body);

    [Fact]
    public void LeavesWelcomeAt89Seconds_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Screen("Welcome", S(0)).Screen("Setup", S(89)).Advance(M(5)).Of("welcome-dwell"));

    // (4) an explorer inactive for 48 h → Try It Out for an unused feature
    private static Scenario Explorer(int features)
    {
        var s = new Scenario();
        foreach (var (f, i) in new[] { "dashboard", "reports", "automations", "api-keys", "search" }.Take(features).Select((f, i) => (f, i)))
        {
            s.Track("Feature Used", M(i), new { feature = f });
        }
        return s;
    }

    [Fact]
    public void ExplorerSilent48Hours_EmitsTryItOutForUnusedFeature()
    {
        var c = Assert.Single(Explorer(5).Advance(H(48) + M(5)).Of("explorer-try-it-out"));
        Assert.Equal(("Try It Out", "You haven't tried integrations yet—it takes a minute to see what it can do."), (c.Message.Title, c.Message.Body));
        Assert.Equal("explorer", c.User.Archetype);
    }

    [Fact]
    public void NotAnExplorer_NearMiss_EmitsNothing() => Assert.Empty(Explorer(4).Advance(H(49)).Of("explorer-try-it-out"));

    [Fact]
    public void TryItOutUnanswered48Hours_EscalatesOnce()
    {
        var s = Explorer(5).Advance(D(8));
        Assert.Single(s.Of("explorer-try-it-out-escalation"));
    }

    [Fact]
    public void TryItOutClicked_NearMiss_DoesNotEscalate()
    {
        var s = Explorer(5).Advance(H(48) + M(5));
        var sent = s.Of("explorer-try-it-out").Single();
        s.Track("Intervention Clicked", H(49), new { interventionId = sent.InterventionId, ruleId = sent.RuleId }).Advance(D(8));
        Assert.DoesNotContain(s.Of("explorer-try-it-out-escalation"), c => (string)c.Trigger.Details["interventionId"] == sent.InterventionId);
    }

    [Fact]
    public void TryItOutOnlyDelivered_StillEscalates_DeliveryIsNotActivity()
    {
        var s = Explorer(5).Advance(H(48) + M(5));
        var sent = s.Of("explorer-try-it-out").Single();
        s.Track("Intervention Delivered", H(48) + M(6), new { interventionId = sent.InterventionId, ruleId = sent.RuleId }).Advance(D(4) + M(10));
        Assert.Equal(sent.InterventionId, (string)Assert.Single(s.Of("explorer-try-it-out-escalation")).Trigger.Details["interventionId"]);
    }

    // (5) a task completed much faster than usual → shortcut guide
    [Fact]
    public void TaskCompletedFasterThanUsual_EmitsShortcutGuide() =>
        Assert.Single(new Scenario().Track("Task Completed", M(0), new { task = "calendar-sync", durationMs = 10000 })
            .Track("Task Completed", M(5), new { task = "calendar-sync", durationMs = 5000 }).Of("faster-than-usual"));

    [Fact]
    public void TaskCompletedSlightlyFaster_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Task Completed", M(0), new { task = "calendar-sync", durationMs = 10000 })
            .Track("Task Completed", M(5), new { task = "calendar-sync", durationMs = 6500 }).Of("faster-than-usual"));

    [Fact]
    public void TwoCompletions30PercentFasterThanThePopulation_MakeAnEfficiencySeeker()
    {
        var s = Population().Track("Task Completed", H(1), new { task = "import", durationMs = 6000 }).Track("Task Completed", H(2), new { task = "import", durationMs = 6500 });
        Assert.Equal("efficiency_seeker", UserProfile.Archetype(s.Simulation.Users["u1"], T0 + H(2)));
    }

    [Fact]
    public void CompletionsOnly20PercentFaster_NearMiss_NotAnEfficiencySeeker()
    {
        var s = Population().Track("Task Completed", H(1), new { task = "import", durationMs = 8000 }).Track("Task Completed", H(2), new { task = "import", durationMs = 8000 });
        Assert.NotEqual("efficiency_seeker", UserProfile.Archetype(s.Simulation.Users["u1"], T0 + H(2)));
    }

    private static Scenario Population()
    {
        var s = new Scenario();
        for (var i = 0; i < 5; i++)
        {
            s.Track("Task Completed", M(i), new { task = "import", durationMs = 10000 }, user: $"other-{i}");
        }
        return s;
    }

    // (6) newcomers: reassurance with a progress meter
    [Fact]
    public void NewcomerCompletesStep_EmitsProgressMeter() =>
        Assert.Equal("2 of 5 steps done—you're on your way.", Assert.Single(new Scenario().Track("Signed Up", M(0))
            .Track("Onboarding Step Completed", M(1), new { step = 2, totalSteps = 5 }).Of("newcomer-progress")).Message.Body);

    [Fact]
    public void NewcomerCompletesLastStep_NearMiss_EmitsNoProgressMeter() =>
        Assert.Empty(new Scenario().Track("Signed Up", M(0)).Track("Onboarding Step Completed", M(1), new { step = 5, totalSteps = 5 }).Of("newcomer-progress"));

    // (7) form field "Company Description" abandoned
    [Fact]
    public void CompanyDescriptionAbandoned_EmitsTenSecondAsk() =>
        Assert.Equal("Help us understand your business—this takes just 10 seconds", Assert.Single(new Scenario()
            .Track("Form Field Abandoned", M(0), new { form = "profile", field = "Company Description" }).Of("company-description-abandoned")).Message.Body);

    [Fact]
    public void OtherFieldAbandoned_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Form Field Abandoned", M(0), new { form = "profile", field = "Phone" }).Of("company-description-abandoned"));

    // (8) data-visualization configuration skipped → a preview
    [Fact]
    public void DataVisualizationSkipped_EmitsPreview() =>
        Assert.Single(new Scenario().Track("Configuration Skipped", M(0), new { feature = "data-visualization" }).Of("data-visualization-skipped"));

    [Fact]
    public void OtherConfigurationSkipped_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Configuration Skipped", M(0), new { feature = "reports" }).Of("data-visualization-skipped"));

    // (9) cart not checked out within 5 minutes → 10 % discount, 2.3 s after the decision
    [Fact]
    public void CartUnpaidFiveMinutes_EmitsDiscountDelayed()
    {
        var c = Assert.Single(new Scenario().Track("Product Added", M(0), new { cartId = "c1" }, device: "mobile").Advance(M(5)).Of("cart-abandoned"));
        Assert.Equal(("Need help completing your order? Here's a 10% discount", "push"), (c.Message.Body, c.Channel));
        Assert.Equal(S(2.3), c.DeliverAfter - c.DecidedAt);
    }

    [Fact]
    public void CartPaidAt4m59_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Product Added", M(0), new { cartId = "c1" }).Track("Order Completed", S(299), new { cartId = "c1" })
            .Advance(M(30)).Of("cart-abandoned"));

    // (10) a feature used more than 3 times → advanced tooltip, under progressive disclosure
    [Fact]
    public void FeatureUsedFourTimes_UnlocksAdvancedTooltip()
    {
        var s = new Scenario();
        for (var i = 0; i < 4; i++)
        {
            s.Track("Feature Used", M(i), new { feature = "reports" });
        }
        Assert.Equal("You're a regular in reports—here are its advanced options.", Assert.Single(s.Of("feature-advanced-tooltip")).Message.Body);
    }

    [Fact]
    public void FeatureUsedThreeTimes_NearMiss_EmitsNothing()
    {
        var s = new Scenario();
        for (var i = 0; i < 3; i++)
        {
            s.Track("Feature Used", M(i), new { feature = "reports" });
        }
        Assert.Empty(s.Of("feature-advanced-tooltip"));
    }

    [Fact]
    public void NewcomerSecondTipWithin24Hours_ExpiresBlockedByProgressiveDisclosure()
    {
        var s = new Scenario().Track("Signed Up", M(0));
        foreach (var feature in new[] { "reports", "automations" })
        {
            for (var i = 0; i < 4; i++)
            {
                s.Track("Feature Used", H(feature == "reports" ? 1 : 3) + M(i), new { feature });
            }
        }
        Assert.Single(s.Of("feature-advanced-tooltip"));
        var last = s.DecisionsOf("feature-advanced-tooltip").Last();
        Assert.Equal((Reasons.Expired, Reasons.ProgressiveDisclosure), (last.Reason, last.Blocked));
    }

    // (11) form completed → a hint for the next step
    [Fact]
    public void FormCompleted_EmitsNextStepHint() =>
        Assert.Equal("Next step: invite a teammate.", Assert.Single(new Scenario().Track("Form Completed", M(0), new { form = "profile", nextStep = "invite a teammate" })
            .Of("form-completed-next-step")).Message.Body);

    [Fact]
    public void FormStarted_NearMiss_EmitsNothing() => Assert.Empty(new Scenario().Track("Form Started", M(0)).Of("form-completed-next-step"));

    // (12) 3 days inactive → re-engagement at the user's most active hour of 09:00–21:00 local (deliver: best_time), with a thin
    // history as the send window allows; the dashboard recap (7–9 PM local) wins when the last feature was the dashboard
    [Fact]
    public void ThreeDaysInactive_ThinHistory_ReEngagementAsTheSendWindowAllows()
    {
        var s = new Scenario().Track("Feature Used", M(0), new { feature = "reports" }).Advance(H(72) + M(1));
        var c = Assert.Single(s.Of("inactive-3-days"));
        Assert.Equal(T0 + H(72), c.DeliverAfter); // 11:00 in Berlin lies inside 09:00–21:00
        var d = s.DecisionsOf("inactive-3-days").Single();
        Assert.Equal((Outcomes.Emitted, null, BestTime.ThinHistory), (d.Outcome, d.Reason, d.Delivery!.Basis));
    }

    [Fact]
    public void ThreeDaysInactive_EveningHabit_ReEngagementAt8pmLocal()
    {
        var s = new Scenario();
        for (var day = 0; day < BestTime.MinActiveDays; day++)
        {
            s.Track("Feature Used", H(24 * day) + H(9.5), new { feature = "reports" }); // 20:30 in Berlin
        }
        s.Track("Feature Used", H(24 * 5) + H(1), new { feature = "reports" }).Advance(H(24 * 5 + 1 + 72) + M(1)); // last seen 12:00

        var c = Assert.Single(s.Of("inactive-3-days"));
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 19, 0, 0, TimeSpan.Zero), c.DeliverAfter); // 20:00 in Berlin (UTC+1)
        var d = s.DecisionsOf("inactive-3-days").Single();
        Assert.Equal((Outcomes.Deferred, Reasons.BestTime, 20, BestTime.FromHistory), (d.Outcome, d.Reason, d.Delivery!.Hour, d.Delivery.Basis));
    }

    [Fact]
    public void ThreeDaysInactive_ThreeEveningsAndANoon_NearMiss_ThinHistorySendWindow()
    {
        var s = new Scenario();
        for (var day = 0; day < BestTime.MinActiveDays - 2; day++)
        {
            s.Track("Feature Used", H(24 * day) + H(9.5), new { feature = "reports" });
        }
        s.Track("Feature Used", H(24 * 5) + H(1), new { feature = "reports" }).Advance(H(24 * 5 + 1 + 72) + M(1));

        // Four active hour-days: one short of a history, so the send window decides (12:00 lies inside it).
        var c = Assert.Single(s.Of("inactive-3-days"));
        Assert.Equal(T0 + H(24 * 5 + 1 + 72), c.DeliverAfter);
        Assert.Equal((BestTime.ThinHistory, 4), (s.DecisionsOf("inactive-3-days").Single().Delivery!.Basis, s.DecisionsOf("inactive-3-days").Single().Delivery!.ActiveDays));
    }

    [Fact]
    public void ThreeDaysInactive_NamesTheMostUsedFeature_NotTheLast()
    {
        var s = new Scenario();
        for (var i = 0; i < 3; i++)
        {
            s.Track("Feature Used", M(i), new { feature = "reports" });
        }
        s.Track("Feature Used", M(5), new { feature = "automations" }).Advance(H(72) + M(6));

        Assert.Equal("Hey, pick up where you left off in reports—it's just as you left it.", Assert.Single(s.Of("inactive-3-days")).Message.Body);
        s.Advance(H(72 + 48) + M(6));
        Assert.Equal("Hey, reports changed while you were away—see what's new in a minute.", Assert.Single(s.Of("inactive-3-days-escalation")).Message.Body);
    }

    [Fact]
    public void ThreeDaysInactive_NoFeatureUsed_NearMiss_NamesTheWorkspace()
    {
        var s = new Scenario().Track("Page Action", M(0)).Advance(H(72) + M(1));
        Assert.Equal("Hey, pick up where you left off in your workspace—it's just as you left it.", Assert.Single(s.Of("inactive-3-days")).Message.Body);
    }

    [Fact]
    public void ActiveAt71Hours_NearMiss_NoReEngagementAt72() =>
        Assert.Empty(new Scenario().Track("Feature Used", M(0), new { feature = "reports" }).Track("Feature Used", H(71), new { feature = "reports" })
            .Advance(H(72) + M(1)).Of("inactive-3-days"));

    [Fact]
    public void ThreeDaysInactiveAfterDashboard_RecapWinsOverGenericReEngagement()
    {
        var s = new Scenario().Track("Feature Used", M(0), new { feature = "dashboard" }).Advance(H(73));
        Assert.Single(s.Of("dashboard-recap"));
        Assert.Equal(Reasons.LowerPriority, s.DecisionsOf("inactive-3-days").Single().Reason);
    }

    // (13) session 15–20 % shorter than the user's baseline
    private static Scenario Sessions(double secondSessionMinutes) => new Scenario()
        .Track("Page Action", M(0)).Track("Page Action", M(10))
        .Track("Page Action", H(1)).Track("Page Action", H(1) + M(secondSessionMinutes))
        .Track("Page Action", H(2));

    [Fact]
    public void SessionSeventeenPercentShorter_EmitsNudge() => Assert.Single(Sessions(8.3).Of("session-shortening"));

    [Fact]
    public void SessionTenPercentShorter_NearMiss_EmitsNothing() => Assert.Empty(Sessions(9).Of("session-shortening"));

    // (14) engagement score falls below 40 → a tip on the last feature used
    [Fact]
    public void EngagementDropsBelow40_EmitsTipOnLastFeature()
    {
        var s = new Scenario();
        for (var i = 0; i < 3; i++)
        {
            s.Track("Feature Used", M(i), new { feature = "reports" });
        }
        s.Track("Feature Used", D(31), new { feature = "dashboard" });
        Assert.Equal("Getting more from dashboard: save a view to come back to it in one click.", Assert.Single(s.Of("low-engagement-tip")).Message.Body);
    }

    [Fact]
    public void EngagementStillAbove40_NearMiss_EmitsNothing()
    {
        var s = new Scenario();
        for (var i = 0; i < 3; i++)
        {
            s.Track("Feature Used", M(i), new { feature = "reports" });
        }
        s.Track("Feature Used", D(20), new { feature = "dashboard" });
        Assert.Empty(s.Of("low-engagement-tip"));
    }

    // (15) 15 minutes idle in a session → a quick win
    [Fact]
    public void Idle15Minutes_EmitsQuickWin() =>
        Assert.Single(new Scenario().Track("Onboarding Completed", M(0)).Advance(M(15)).Of("idle-quick-win"));

    [Fact]
    public void ActiveAt14Minutes_NearMiss_NoQuickWinAt16() =>
        Assert.Empty(new Scenario().Track("Onboarding Completed", M(0)).Track("Feature Used", M(14), new { feature = "x" }).Advance(M(16)).Of("idle-quick-win"));

    // (16) onboarding abandoned at step 3 → 12-second video tip
    [Fact]
    public void OnboardingAbandonedAtStep3_EmitsVideoTip() =>
        Assert.Equal("Here's a 12-second video tip that walks you through it.", Assert.Single(new Scenario()
            .Track("Onboarding Step Viewed", M(0), new { step = 3, totalSteps = 5 }).Advance(M(10)).Of("onboarding-step-3-abandoned")).Message.Body);

    [Fact]
    public void Step3CompletedAt9Minutes_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Onboarding Step Viewed", M(0), new { step = 3, totalSteps = 5 })
            .Track("Onboarding Step Completed", M(9), new { step = 3, totalSteps = 5 }).Advance(M(30)).Of("onboarding-step-3-abandoned"));

    // (17) help center viewed then exited → a demo offer
    [Fact]
    public void HelpCenterExited_EmitsDemoOfferOrHoldsOut()
    {
        var s = new Scenario().Track("Help Center Viewed", M(0), new { article = "a" }).Track("Help Center Exited", M(2), new { article = "a" });
        var d = Assert.Single(s.DecisionsOf("help-center-demo"));
        Assert.Contains(d.Outcome, new[] { Outcomes.Emitted, Outcomes.HeldOut });
        Assert.All(s.Of("help-center-demo"), c => Assert.Equal("help-demo-copy", c.Experiment));
    }

    [Fact]
    public void ShortcutGuideClicked_FollowsUpWithNextShortcut()
    {
        var s = new Scenario().Track("Task Completed", M(0), new { task = "t", durationMs = 10000 }).Track("Task Completed", M(5), new { task = "t", durationMs = 5000 });
        var guide = Assert.Single(s.Of("faster-than-usual"));
        s.Track("Intervention Clicked", M(6), new { interventionId = guide.InterventionId, ruleId = guide.RuleId });
        Assert.Equal("Next shortcut: press / to search anything from anywhere.", Assert.Single(s.Of("next-shortcut")).Message.Body);
    }

    [Fact]
    public void HelpCenterOnlyViewed_NearMiss_EmitsNothing() =>
        Assert.Empty(new Scenario().Track("Help Center Viewed", M(0), new { article = "a" }).Of("help-center-demo"));

    // (18) setup completed → "next, try …"
    [Fact]
    public void SetupCompleted_SuggestsNextUnusedFeature() =>
        Assert.Equal("Next, try reports.", Assert.Single(new Scenario().Track("Feature Used", M(0), new { feature = "dashboard" })
            .Track("Setup Completed", M(1), new { task = "notifications-setup" }).Of("setup-completed-next")).Message.Body);

    [Fact]
    public void SetupStarted_NearMiss_EmitsNothing() => Assert.Empty(new Scenario().Track("Setup Started", M(0)).Of("setup-completed-next"));

    // (19) content shared → reward; 5-day streak → milestone
    [Fact]
    public void ContentShared_EmitsReward() =>
        Assert.Equal(("reward", "toast"), Assert.Single(new Scenario().Track("Content Shared", M(0), new { contentId = "c" }).Of("content-shared-reward")) is var c ? (c.Moment, c.Channel) : default);

    [Fact]
    public void ContentViewed_NearMiss_EmitsNothing() => Assert.Empty(new Scenario().Track("Content Viewed", M(0)).Of("content-shared-reward"));

    [Fact]
    public void FiveActiveDaysInARow_EmitsMilestone()
    {
        var s = new Scenario();
        for (var d = 0; d < 5; d++)
        {
            s.Track("Feature Used", D(d), new { feature = "reports" });
        }
        Assert.Equal("5 days straight—you're on a roll!", Assert.Single(s.Of("streak-5-days")).Message.Body);
    }

    [Fact]
    public void FiveDaysWithAGap_NearMiss_EmitsNothing()
    {
        var s = new Scenario();
        foreach (var d in new[] { 0, 1, 2, 4, 5 })
        {
            s.Track("Feature Used", D(d), new { feature = "reports" });
        }
        Assert.Empty(s.Of("streak-5-days"));
    }

    // (20) caps: 3 per hour; quiet hours defer
    [Fact]
    public void FourthNudgeWithinAnHour_SuppressedByHourlyCap()
    {
        var s = new Scenario().Track("Content Shared", M(0)).Track("Help Center Exited", M(1)).Track("Form Completed", M(2)).Track("Configuration Skipped", M(3), new { feature = "data-visualization" });
        Assert.Equal(3, s.Simulation.Interventions.Count);
        Assert.Equal(Reasons.HourlyCap, s.DecisionsOf("data-visualization-skipped").Single().Reason);
    }

    [Fact]
    public void NudgeAt2230Local_DeferredTo0700Local()
    {
        var s = new Scenario().Track("Content Shared", H(11.5)); // 21:30 UTC = 22:30 in Berlin
        var c = Assert.Single(s.Of("content-shared-reward"));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 6, 0, 0, TimeSpan.Zero), c.DeliverAfter);
        Assert.Equal(Reasons.QuietHours, s.DecisionsOf("content-shared-reward").Single().Reason);
    }

    // (seed) a user who dismisses prompts more than twice: every rule pauses for them for 7 days
    private static Scenario DismissEach(params (string Event, string RuleId)[] nudges)
    {
        var s = new Scenario();
        foreach (var ((name, rule), i) in nudges.Select((n, i) => (n, i)))
        {
            s.Track(name, H(2 * i));
            s.Track("Intervention Dismissed", H(2 * i) + M(1), new { interventionId = Assert.Single(s.Of(rule)).InterventionId, ruleId = rule });
        }
        return s;
    }

    [Fact]
    public void ThirdNudgeDismissed_EveryRulePausedForSevenDays()
    {
        var s = DismissEach(("Content Shared", "content-shared-reward"), ("Form Completed", "form-completed-next-step"), ("Setup Completed", "setup-completed-next"));

        s.Track("Configuration Skipped", H(6), new { feature = "data-visualization" });
        s.Track("Configuration Skipped", H(4) + D(7) + M(1), new { feature = "data-visualization" });

        Assert.Equal(Reasons.DismissalPause, s.DecisionsOf("data-visualization-skipped")[0].Reason);
        Assert.Equal(Outcomes.Emitted, s.DecisionsOf("data-visualization-skipped")[1].Outcome);
    }

    [Fact]
    public void TwoNudgesDismissed_NearMiss_NothingPaused()
    {
        var s = DismissEach(("Content Shared", "content-shared-reward"), ("Form Completed", "form-completed-next-step"));

        s.Track("Configuration Skipped", H(6), new { feature = "data-visualization" });

        Assert.Equal(Outcomes.Emitted, Assert.Single(s.DecisionsOf("data-visualization-skipped")).Outcome);
    }

    [Fact]
    public void DuplicateMessageId_ChangesNothing()
    {
        var a = new Scenario();
        var b = new Scenario();
        a.Simulation.Feed("""{"type":"track","event":"Task Failed","userId":"u","messageId":"m1","timestamp":"2026-11-24T10:00:00Z","properties":{"task":"t"}}""", 1);
        foreach (var line in new[] { 1, 2 })
        {
            b.Simulation.Feed("""{"type":"track","event":"Task Failed","userId":"u","messageId":"m1","timestamp":"2026-11-24T10:00:00Z","properties":{"task":"t"}}""", line);
        }
        Assert.Equal(a.Simulation.Users["u"].Windows!.Values.Single().Count, b.Simulation.Users["u"].Windows!.Values.Single().Count);
    }
}
