using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

/// <summary><c>action.deliver: best_time</c>: the user's most active local hour inside the send window and outside quiet hours.</summary>
public sealed class BestTimeTests
{
    private const string Rules = """
        version: t
        policies:
          quietHours: { from: "22:00", to: "07:00", mode: defer }
        rules:
          - id: nudge
            trigger: { kind: event, event: Ping }
            action: { moment: re_engagement, channel: push, deliver: best_time, message: { body: hi } }
            policy: { sendWindow: { from: "09:00", to: "21:00" } }
        """;

    /// <summary>Activity at <paramref name="hour"/>:15 local on <paramref name="days"/> days from 2026-11-<paramref name="firstDay"/>.</summary>
    private static LocalStory Habit(LocalStory story, int hour, int days, int firstDay = 10) => Habits(story, firstDay, (hour, days));

    /// <summary>Several habits, in time order (a late event is not counted: <see cref="ActiveHours.Observe"/>).</summary>
    private static LocalStory Habits(LocalStory story, int firstDay, params (int Hour, int Days)[] habits)
    {
        for (var d = 0; d < habits.Max(h => h.Days); d++)
        {
            foreach (var (hour, _) in habits.Where(h => d < h.Days).OrderBy(h => h.Hour))
            {
                story.Track("Visit", 2026, 11, firstDay + d, hour, 15);
            }
        }
        return story;
    }

    // The ping at 08:30 local lies outside the 09:00–21:00 window, so it adds nothing to the evidence.
    private static LocalStory Ping(LocalStory story) => story.Track("Ping", 2026, 11, 24, 8, 30);

    [Fact]
    public void Decide_FiveActiveDaysAt20_DeferredTo20Local()
    {
        var s = Ping(Habit(new LocalStory(Rules), 20, BestTime.MinActiveDays));

        var command = Assert.Single(s.Of("nudge"));
        var decision = Assert.Single(s.DecisionsOf("nudge"));
        Assert.Equal(s.At(2026, 11, 24, 20, 0), command.DeliverAfter);
        Assert.Equal((Outcomes.Deferred, Reasons.BestTime), (decision.Outcome, decision.Reason));
        Assert.Equal(new DeliveryChoice("best_time", 20, BestTime.FromHistory, 5), decision.Delivery);
    }

    [Fact]
    public void Decide_FourActiveDays_NearMiss_ThinHistoryFallsBackToSendWindow()
    {
        var s = Ping(Habit(new LocalStory(Rules), 20, BestTime.MinActiveDays - 1));

        var command = Assert.Single(s.Of("nudge"));
        var decision = Assert.Single(s.DecisionsOf("nudge"));
        Assert.Equal(s.At(2026, 11, 24, 9, 0), command.DeliverAfter);
        Assert.Equal((Outcomes.Deferred, Reasons.SendWindow), (decision.Outcome, decision.Reason));
        Assert.Equal(new DeliveryChoice("best_time", 9, BestTime.ThinHistory, 4), decision.Delivery);
    }

    [Fact]
    public void Observe_ManyEventsInOneHourOfOneDay_CountOnce()
    {
        var s = new LocalStory(Rules);
        for (var m = 0; m < 60; m += 5)
        {
            s.Track("Visit", 2026, 11, 20, 20, m);
        }

        Assert.Equal(1, ActiveHours.Counts(s.Simulation.Users["u1"], s.At(2026, 11, 21, 12))[20]);
    }

    [Fact]
    public void Observe_LateEvent_NotCounted()
    {
        var s = new LocalStory(Rules).Track("Visit", 2026, 11, 20, 20).Track("Visit", 2026, 11, 20, 18);

        Assert.Equal(0, ActiveHours.Counts(s.Simulation.Users["u1"], s.At(2026, 11, 21, 12))[18]);
    }

    [Fact]
    public void Decide_BusiestHourInQuietHours_TakesTheBusiestAllowedHour()
    {
        var s = Habits(new LocalStory(Rules), 10, (23, 12), (19, 5));

        Ping(s);

        Assert.Equal(s.At(2026, 11, 24, 19, 0), Assert.Single(s.Of("nudge")).DeliverAfter);
    }

    [Fact]
    public void Decide_HourAtTheWindowsEnd_NearMiss_NotChosen()
    {
        // 21:00 is where the 09:00–21:00 window ends: hour 21 is outside it, so its 12 days count for nothing.
        var s = Habits(new LocalStory(Rules), 10, (21, 12), (20, 5));

        Ping(s);

        Assert.Equal(20, Assert.Single(s.DecisionsOf("nudge")).Delivery!.Hour);
    }

    [Fact]
    public void Decide_TiedHours_TheSoonerWins()
    {
        var s = Habits(new LocalStory(Rules), 10, (12, 5), (18, 5));

        s.Track("Ping", 2026, 11, 24, 14, 0); // 18:00 comes before tomorrow's 12:00

        Assert.Equal(s.At(2026, 11, 24, 18, 0), Assert.Single(s.Of("nudge")).DeliverAfter);
    }

    [Fact]
    public void Decide_AlreadyInTheBestHour_EmittedNow()
    {
        var s = Habit(new LocalStory(Rules), 20, 6);

        s.Track("Ping", 2026, 11, 24, 20, 40);

        var decision = Assert.Single(s.DecisionsOf("nudge"));
        Assert.Equal(s.At(2026, 11, 24, 20, 40), Assert.Single(s.Of("nudge")).DeliverAfter);
        Assert.Equal((Outcomes.Emitted, null, 20, BestTime.FromHistory), (decision.Outcome, decision.Reason, decision.Delivery!.Hour, decision.Delivery.Basis));
    }

    [Fact]
    public void Decide_JustAfterTheBestHour_DeferredToTomorrow()
    {
        var s = Habit(new LocalStory(Rules), 20, 6);

        s.Track("Ping", 2026, 11, 24, 21, 0);

        Assert.Equal(s.At(2026, 11, 25, 20, 0), Assert.Single(s.Of("nudge")).DeliverAfter);
    }

    [Fact]
    public void Decide_HistoryTwoPeriodsBack_Thin()
    {
        // 2026-10-01..10-06 lie in periods 1381–1382 (local day / 15), 2026-11-24 in 1385: forgotten.
        var s = new LocalStory(Rules);
        for (var d = 1; d <= 6; d++)
        {
            s.Track("Visit", 2026, 10, d, 20, 15);
        }

        Ping(s);

        Assert.Equal(BestTime.ThinHistory, Assert.Single(s.DecisionsOf("nudge")).Delivery!.Basis);
    }

    [Fact]
    public void Decide_HistoryInThePreviousPeriod_NearMiss_StillCounts()
    {
        // 2026-11-04 (local day 20,760) starts period 1384, the one before 2026-11-24's: still within the last 30 days.
        var s = new LocalStory(Rules);
        for (var d = 4; d <= 9; d++)
        {
            s.Track("Visit", 2026, 11, d, 20, 15);
        }

        Ping(s);

        Assert.Equal((20, BestTime.FromHistory), (Assert.Single(s.DecisionsOf("nudge")).Delivery!.Hour, s.DecisionsOf("nudge")[0].Delivery!.Basis));
    }

    [Fact]
    public void Decide_HistoryEndingTheDayBeforeThePreviousPeriod_Thin()
    {
        var s = new LocalStory(Rules);
        for (var d = 29; d <= 31; d++)
        {
            s.Track("Visit", 2026, 10, d, 20, 15);
        }
        for (var d = 1; d <= 3; d++)
        {
            s.Track("Visit", 2026, 11, d, 20, 15); // 2026-11-03 is the last day of period 1383
        }

        Ping(s);

        Assert.Equal(BestTime.ThinHistory, Assert.Single(s.DecisionsOf("nudge")).Delivery!.Basis);
    }

    [Fact]
    public void Decide_SpringForwardInBerlin_DeliversAt19LocalSummerTime()
    {
        // History at 19:30 local across 2026-03-29 (CET → CEST): the same local hour although UTC moved by one.
        var s = new LocalStory(Rules);
        for (var d = 24; d <= 30; d++)
        {
            s.Track("Visit", 2026, 3, d, 19, 30);
        }

        s.Track("Ping", 2026, 3, 31, 8, 30);

        Assert.Equal(new DateTimeOffset(2026, 3, 31, 17, 0, 0, TimeSpan.Zero), Assert.Single(s.Of("nudge")).DeliverAfter);
        Assert.Equal(7, s.DecisionsOf("nudge")[0].Delivery!.ActiveDays);
    }

    [Fact]
    public void Decide_OnTheDayClocksGoBackInBerlin_DeliversAt19LocalWinterTime()
    {
        var s = new LocalStory(Rules);
        for (var d = 19; d <= 24; d++)
        {
            s.Track("Visit", 2026, 10, d, 19, 30);
        }

        s.Track("Ping", 2026, 10, 25, 8, 30);

        Assert.Equal(new DateTimeOffset(2026, 10, 25, 18, 0, 0, TimeSpan.Zero), Assert.Single(s.Of("nudge")).DeliverAfter);
    }

    [Fact]
    public void Decide_OnTheDayClocksGoForwardInNewYork_DeliversAt19LocalDaylightTime()
    {
        var s = new LocalStory(Rules, "America/New_York");
        for (var d = 2; d <= 7; d++)
        {
            s.Track("Visit", 2026, 3, d, 19, 30);
        }

        s.Track("Ping", 2026, 3, 8, 8, 30); // 2026-03-08: EST (UTC−5) → EDT (UTC−4) at 02:00

        Assert.Equal(new DateTimeOffset(2026, 3, 8, 23, 0, 0, TimeSpan.Zero), Assert.Single(s.Of("nudge")).DeliverAfter);
    }

    [Fact]
    public void Decide_RuleWithoutBestTime_RecordsNoDelivery()
    {
        var s = Ping(Habit(new LocalStory(Rules.Replace("deliver: best_time, ", "", StringComparison.Ordinal)), 20, 6));

        var decision = Assert.Single(s.DecisionsOf("nudge"));
        Assert.Null(decision.Delivery);
        Assert.Equal(Reasons.SendWindow, decision.Reason);
        Assert.DoesNotContain("delivery", DecisionJson.Serialize(decision), StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_BestTimeDecision_WritesTheDeliveryLikeTheSerializer()
    {
        var decision = Assert.Single(Ping(Habit(new LocalStory(Rules), 20, 6)).DecisionsOf("nudge"));

        var json = DecisionJson.Serialize(decision);

        Assert.Contains("\"delivery\":{\"mode\":\"best_time\",\"hour\":20,\"basis\":\"history\",\"activeDays\":6}", json, StringComparison.Ordinal);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(decision, Interventions.InterventionCloudEvents.DataOptions), json);
    }

    [Fact]
    public void Serialize_StateWithActiveHours_RoundTripsAndChoosesTheSameHour()
    {
        var s = Habit(new LocalStory(Rules), 20, 6);
        var state = s.Simulation.Users["u1"];

        var copy = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));
        var fromJson = UserStateSerializer.Deserialize(UserStateSerializer.ToJson(state));

        Assert.Equal(state.ActiveHours, copy.ActiveHours);
        Assert.Equal(state.ActiveHoursPeriod, copy.ActiveHoursPeriod);
        Assert.Equal(state.ActiveHours, fromJson.ActiveHours);
        var at = s.At(2026, 11, 24, 8, 30);
        Assert.Equal(BestTime.Choose(state, null, null, at), BestTime.Choose(copy, null, null, at));
    }

    [Fact]
    public void Deserialize_StateWrittenBeforeActiveHours_ReadsWithNoHistory()
    {
        byte[] old = [LegacyFormat1.Version1, 0x01, 0x04, (byte)'a'];

        var state = UserStateSerializer.Deserialize(old);

        Assert.Null(state.ActiveHours);
        Assert.Null(BestTime.Choose(state, null, null, TestEvents.T0).Hour);
    }

    [Fact]
    public void Serialize_ActiveHours_CostsAFewBytesPerUser()
    {
        // A user active in four hours of the day: period (2 B), hour mask (3 B), four counts, and one more header byte.
        var s = new LocalStory(Rules);
        Habits(s, 10, (8, 6), (12, 6), (13, 6), (20, 6));
        var state = s.Simulation.Users["u1"];
        var with = UserStateSerializer.Serialize(state).Length;
        state.ActiveHours = null;
        state.ActiveHoursPeriod = 0;

        var without = UserStateSerializer.Serialize(state).Length;

        Assert.InRange(with - without, 1, 11);
    }

    [Fact]
    public void Merge_AnonymousVisitorsHours_AddToTheUsers()
    {
        var a = Habit(new LocalStory(Rules), 20, 3).Simulation.Users["u1"];
        var b = Habit(new LocalStory(Rules), 20, 3, firstDay: 14).Simulation.Users["u1"];

        ActiveHours.Merge(a, b);

        Assert.Equal(6, ActiveHours.Counts(a, TestEvents.T0)[20]);
    }

    [Fact]
    public void Load_UnknownDeliverMode_ErrorWithLine()
    {
        var errors = new List<RuleError>();

        RuleSetLoader.TryLoad(Rules.Replace("best_time", "whenever", StringComparison.Ordinal), errors);

        Assert.Contains(errors, e => e.Message.Contains("deliver 'whenever' is not one of now, best_time", StringComparison.Ordinal) && e.Line == 7);
    }
}
