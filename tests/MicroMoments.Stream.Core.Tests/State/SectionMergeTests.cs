using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Core.State.Sections;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Each section's part of an alias: the anonymous user's state (from) into the identified user's (into).</summary>
public sealed class SectionMergeTests
{
    private const long T = 1_795_000_000_000;

    private static readonly StateLimits Limits = new();

    private static UserState Identified() => new() { UserId = "user-1" };

    private static UserState Anonymous() => new() { UserId = "anon-1", Anonymous = true };

    private static OrderedDictionary<string, TValue> Ordered<TValue>(params (string Key, TValue Value)[] entries)
    {
        var map = new OrderedDictionary<string, TValue>(StringComparer.Ordinal);
        foreach (var (k, v) in entries)
        {
            map.Add(k, v);
        }
        return map;
    }

    [Fact]
    public void Arrival_RecentIds_JoinedDistinctAnonymousFirstWatermarksStay()
    {
        var (into, from) = (Identified(), Anonymous());
        into.RecentIds = [3, 4];
        from.RecentIds = [1, 3];
        from.Watermarks["clickstream/0"] = 9;

        new ArrivalSection().Merge(into, from, Limits);

        Assert.Equal([1, 3, 4], into.RecentIds);
        Assert.Empty(into.Watermarks);
    }

    [Fact]
    public void Identity_Conflicts_EarlierDatesIdentifiedTraitsWinAnonymousOnesLeastRecent()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.FirstSeenAt, into.SignedUpAt, into.Device) = (T, T + 5, "mobile");
        into.Traits = Ordered(("name", "Ada"));
        (from.FirstSeenAt, from.SignedUpAt, from.Device, from.Timezone) = (T - 10, null, "desktop", "Europe/Paris");
        from.Traits = Ordered(("name", "Anon"), ("referrer", "ads"));

        new IdentitySection().Merge(into, from, Limits);

        Assert.Equal((T - 10, T + 5, "mobile", "Europe/Paris"), (into.FirstSeenAt, into.SignedUpAt, into.Device, into.Timezone));
        Assert.Equal([("referrer", "ads"), ("name", "Ada")], into.Traits!.Select(x => (x.Key, x.Value)));
        Assert.False(into.Anonymous);
    }

    [Fact]
    public void Identity_TraitsAtTheBound_AnonymousOnesLeftOut()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Traits = Ordered(("a", "1"), ("b", "2"));
        from.Traits = Ordered(("c", "3"));

        new IdentitySection().Merge(into, from, new StateLimits { MaxTraits = 2 });

        Assert.Equal(["a", "b"], into.Traits!.Keys);
    }

    [Fact]
    public void FeatureUsage_Counts_AddUpNewFeaturesLeastRecentWhileThereIsRoom()
    {
        var (into, from) = (Identified(), Anonymous());
        into.FeatureCounts = Ordered(("reports", 2), ("dashboard", 1));
        from.FeatureCounts = Ordered(("reports", 3), ("automations", 4), ("api-keys", 1));
        from.LastFeature = "automations";

        new FeatureUsageSection().Merge(into, from, new StateLimits { MaxFeatures = 3 });

        Assert.Equal([("automations", 4), ("reports", 5), ("dashboard", 1)], into.FeatureCounts!.Select(x => (x.Key, x.Value)));
        Assert.Equal("automations", into.LastFeature);
    }

    [Fact]
    public void Engagement_PointsPerDay_AddUp()
    {
        var (into, from) = (Identified(), Anonymous());
        into.EngagementPoints = new() { [20_700] = 5 };
        from.EngagementPoints = new() { [20_700] = 2, [20_699] = 1 };

        new EngagementSection().Merge(into, from, Limits);

        Assert.Equal(new Dictionary<int, int> { [20_700] = 7, [20_699] = 1 }, into.EngagementPoints);
    }

    [Fact]
    public void Sessions_AnonymousVisitRanIntoTheSignUp_OneSessionBaselineTaken()
    {
        var (into, from) = (Identified(), Anonymous());
        into.SessionStartedAt = T;
        (from.SessionStartedAt, from.LastEventAt, from.SessionBaselineMs, from.LastSessionMs) = (T - 600_000, T - 60_000, 900_000, 800_000);

        new SessionsSection().Merge(into, from, Limits);

        Assert.Equal((T - 600_000, 900_000L, 800_000L), (into.SessionStartedAt, into.SessionBaselineMs, into.LastSessionMs));
    }

    [Fact]
    public void Sessions_AnonymousVisitLongBefore_IdentifiedSessionAndBaselineStand()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.SessionStartedAt, into.SessionBaselineMs) = (T, 1_000);
        (from.SessionStartedAt, from.LastEventAt, from.SessionBaselineMs) = (T - 86_400_000, T - 86_000_000, 900_000);

        new SessionsSection().Merge(into, from, Limits);

        Assert.Equal((T, 1_000L), (into.SessionStartedAt, into.SessionBaselineMs));
    }

    [Fact]
    public void TaskTimes_Durations_IdentifiedWinsFastCompletionsAddUp()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.TaskDurations, into.FastCompletions) = (Ordered(("export", 10L)), 1);
        (from.TaskDurations, from.FastCompletions) = (Ordered(("export", 99L), ("import", 20L)), 2);

        new TaskTimesSection().Merge(into, from, Limits);

        Assert.Equal([("import", 20L), ("export", 10L)], into.TaskDurations!.Select(x => (x.Key, x.Value)));
        Assert.Equal(3, into.FastCompletions);
    }

    [Fact]
    public void Onboarding_Progress_FurthestStepAndTotalCompletedByEither()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.OnboardingStep, into.OnboardingTotal) = (1, 5);
        (from.OnboardingStep, from.OnboardingTotal, from.OnboardingCompleted) = (3, 4, true);

        new OnboardingSection().Merge(into, from, Limits);

        Assert.Equal((3, 5, true), (into.OnboardingStep, into.OnboardingTotal, into.OnboardingCompleted));
    }

    [Fact]
    public void ActiveDays_AnonymousActiveLater_ItsStreakAndDaySetWin()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.LastActiveDay, into.StreakDays, into.EventTime) = (20_700, 4, new EventTimeState { ActiveDays = 0b1111 });
        (from.LastActiveDay, from.StreakDays, from.EventTime) = (20_701, 2, new EventTimeState { ActiveDays = 0b1011 });

        new ActiveDaysSection().Merge(into, from, Limits);

        Assert.Equal((20_701, 2, 0b1011u), (into.LastActiveDay, into.StreakDays, into.EventTime.ActiveDays));
    }

    [Fact]
    public void ActiveDays_IdentifiedActiveLater_Unchanged()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.LastActiveDay, into.StreakDays, into.EventTime) = (20_701, 1, new EventTimeState { ActiveDays = 0b101 });
        (from.LastActiveDay, from.StreakDays) = (20_700, 9);

        new ActiveDaysSection().Merge(into, from, Limits);

        Assert.Equal((20_701, 1, 0b101u), (into.LastActiveDay, into.StreakDays, into.EventTime.ActiveDays));
    }

    [Fact]
    public void ActiveHours_AnonymousOnePeriodAhead_IdentifiedCountsRolledThenAdded()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.ActiveHours, into.ActiveHoursPeriod) = (new byte[ActiveHours.Hours], 100);
        (from.ActiveHours, from.ActiveHoursPeriod) = (new byte[ActiveHours.Hours], 101);
        into.ActiveHours[9] = 0x02; // two days at 09:00 in period 100
        from.ActiveHours[9] = 0x01; // one in period 101

        new ActiveHoursSection().Merge(into, from, Limits);

        Assert.Equal((101, (byte)0x21), (into.ActiveHoursPeriod, into.ActiveHours[9]));
    }

    [Fact]
    public void CountWindows_SameWindow_HitsJoinedInTimeOrder()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Windows = new(StringComparer.Ordinal) { ["r|a"] = [new WindowHit(T, "i1")] };
        from.Windows = new(StringComparer.Ordinal) { ["r|a"] = [new WindowHit(T - 5, "a1"), new WindowHit(T + 5, "a2")], ["r|b"] = [new WindowHit(T, "a3")] };

        new CountWindowsSection().Merge(into, from, Limits);

        Assert.Equal(["a1", "i1", "a2"], into.Windows["r|a"].Select(h => h.EventId));
        Assert.Equal(["a3"], into.Windows["r|b"].Select(h => h.EventId));
    }

    [Fact]
    public void TimerList_Timers_MoveOverExceptTheIdentifiedUsersOwnIdAndReindex()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Timers = [new PendingTimer { Id = "~idle", DueAt = T + 10 }];
        from.Timers = [new PendingTimer { Id = "~idle", DueAt = T + 5 }, new PendingTimer { Id = "dwell", DueAt = T + 7 }];

        new TimerListSection().Merge(into, from, Limits);

        Assert.Equal([("~idle", T + 10), ("dwell", T + 7)], into.Timers.Select(t => (t.Id, t.DueAt)));
        Assert.True(into.ReindexTimers);
    }

    [Fact]
    public void InterventionMemory_Records_InTimeOrderTheLastRemembered()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Interventions = [.. Enumerable.Range(0, 10).Select(i => new InterventionRecord { Id = $"i{i}", At = T + (2 * i) })];
        from.Interventions = [.. Enumerable.Range(0, 10).Select(i => new InterventionRecord { Id = $"a{i}", At = T + (2 * i) + 1 })];

        new InterventionMemorySection().Merge(into, from, Limits);

        Assert.Equal(RuleEngine.RememberedInterventions, into.Interventions.Count);
        Assert.Equal(("i2", "a9"), (into.Interventions[0].Id, into.Interventions[^1].Id));
    }

    [Fact]
    public void DismissalPauses_DismissalsAddUpPausesRunToTheLaterEnd()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.Dismissals, into.RulePausedUntil, into.UserDismissals, into.UserPausedUntil) =
            (new(StringComparer.Ordinal) { ["tip"] = 1 }, new(StringComparer.Ordinal) { ["tip"] = T + 9 }, 1, T);
        (from.Dismissals, from.RulePausedUntil, from.UserDismissals, from.UserPausedUntil) =
            (new(StringComparer.Ordinal) { ["tip"] = 2, ["cart"] = 1 }, new(StringComparer.Ordinal) { ["tip"] = T + 5, ["cart"] = T + 3 }, 2, T + 1);

        new DismissalPausesSection().Merge(into, from, Limits);

        Assert.Equal(new Dictionary<string, int> { ["tip"] = 3, ["cart"] = 1 }, into.Dismissals);
        Assert.Equal(new Dictionary<string, long> { ["tip"] = T + 9, ["cart"] = T + 3 }, into.RulePausedUntil);
        Assert.Equal((3, T + 1), (into.UserDismissals, into.UserPausedUntil));
    }

    [Fact]
    public void Retention_MarksLatestAndArms_MarksJoinLaterActivitySharedArmKeepsTheEarlierAnchor()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.RetentionLatest, from.RetentionLatest) = (T, T + 5);
        into.RetentionMarks = 0b0011;
        into.RetentionGroups = [new RetentionGroup { RuleId = "r", Arm = "treated", Anchor = T, Marks = 2 }];
        from.RetentionMarks = 0b0101;
        from.RetentionGroups =
        [
            new RetentionGroup { RuleId = "r", Arm = "treated", Anchor = T - 10, Marks = 4 },
            new RetentionGroup { RuleId = "*", Arm = "holdout", Anchor = T - 5 },
        ];

        new RetentionSection().Merge(into, from, Limits);

        Assert.Equal((0b0111, T + 5), (into.RetentionMarks, into.RetentionLatest));
        Assert.Equal([("r", "treated", T - 10, 6), ("*", "holdout", T - 5, 0)], into.RetentionGroups!.Select(g => (g.RuleId, g.Arm, g.Anchor, g.Marks)));
    }

    [Fact]
    public void AutoPause_PausedAt_TheLater()
    {
        var (into, from) = (Identified(), Anonymous());
        (into.AutoPausedAt, from.AutoPausedAt) = (T, T + 1);

        new AutoPauseSection().Merge(into, from, Limits);

        Assert.Equal(T + 1, into.AutoPausedAt);
    }

    [Fact]
    public void SentLog_Records_JoinedInTimeOrder()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Sent = [new SentRecord(T, "i", "push", "c")];
        from.Sent = [new SentRecord(T - 1, "a", "push", "c"), new SentRecord(T + 1, "b", "push", "c")];

        new SentLogSection().Merge(into, from, Limits);

        Assert.Equal(["a", "i", "b"], into.Sent.Select(x => x.RuleId));
    }

    [Fact]
    public void DeliverySchedule_AnonymousCommands_AddressedToTheAnonymousIdSoonestDueGoOverTheBound()
    {
        var (into, from) = (Identified(), Anonymous());
        into.PendingDeliveries = [.. Enumerable.Range(0, DeliveryCancellation.MaxPending).Select(i => new PendingDelivery { InterventionId = $"i{i}", DeliverAfter = T + 10 + i })];
        from.PendingDeliveries = [new PendingDelivery { InterventionId = "a0", DeliverAfter = T }, new PendingDelivery { InterventionId = "a1", DeliverAfter = T + 100, UserId = "older-anon" }];

        new DeliveryScheduleSection().Merge(into, from, Limits);

        Assert.Equal(DeliveryCancellation.MaxPending, into.PendingDeliveries.Count);
        Assert.DoesNotContain(into.PendingDeliveries, p => p.InterventionId is "a0" or "i0");
        Assert.Equal("older-anon", into.PendingDeliveries.Single(p => p.InterventionId == "a1").UserId);
    }

    [Fact]
    public void Waiting_AnonymousEntries_JoinAddressedExceptForARuleTheIdentifiedUserWaitsFor()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Waiting = [new WaitingDelivery { InterventionId = "i1", RuleId = "tip" }];
        from.Waiting = [new WaitingDelivery { InterventionId = "a1", RuleId = "tip" }, new WaitingDelivery { InterventionId = "a2", RuleId = "cart" }];

        new WaitingSection().Merge(into, from, Limits);

        Assert.Equal([("i1", null), ("a2", "anon-1")], into.Waiting.Select(w => (w.InterventionId, w.UserId)));
        Assert.True(into.ReindexTimers);
    }

    [Fact]
    public void Waiting_OverTheBound_FirstEntriesGo()
    {
        var (into, from) = (Identified(), Anonymous());
        into.Waiting = [.. Enumerable.Range(0, DeliverySchedule.MaxWaiting).Select(i => new WaitingDelivery { InterventionId = $"i{i}", RuleId = $"r{i}" })];
        from.Waiting = [new WaitingDelivery { InterventionId = "a1", RuleId = "other" }];

        new WaitingSection().Merge(into, from, Limits);

        Assert.Equal(DeliverySchedule.MaxWaiting, into.Waiting.Count);
        Assert.Equal(("i1", "a1"), (into.Waiting[0].InterventionId, into.Waiting[^1].InterventionId));
    }

    [Fact]
    public void UnservedCrossings_Joined_OnceEachWithinTheBound()
    {
        var (into, from) = (Identified(), Anonymous());
        into.UnservedCrossings = ["streak-3"];
        from.UnservedCrossings = ["streak-3", "milestone|reports"];

        new UnservedCrossingsSection().Merge(into, from, Limits);

        Assert.Equal(["streak-3", "milestone|reports"], into.UnservedCrossings);
    }
}
