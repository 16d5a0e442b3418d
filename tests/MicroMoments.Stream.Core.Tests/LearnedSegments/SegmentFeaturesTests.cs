using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.LearnedSegments.SegmentLines;

namespace MicroMoments.Stream.Core.Tests.LearnedSegments;

/// <summary>The segments' features, computed from the counts the state keeps as events are applied.</summary>
public sealed class SegmentFeaturesTests
{
    private static readonly DateTimeOffset Day0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly RuleSet NoRules = RuleSetLoader.Load("version: t\nrules: []\n");

    /// <summary>Day 0: a 20-minute session (3 events) and, an hour later, a one-event session; day 2: a 10-minute session.</summary>
    private static readonly string[] Story =
    [
        Track("u", "Feature Used", Day0, new { feature = "reports" }),
        Track("u", "Task Failed", Day0.AddMinutes(10), new { task = "import" }),
        Track("u", "Task Failed", Day0.AddMinutes(20), new { task = "import" }),
        Track("u", "Feature Used", Day0.AddMinutes(80), new { feature = "dashboard" }),
        Track("u", "Task Completed", Day0.AddDays(2), new { task = "import" }),
        Track("u", "Feature Used", Day0.AddDays(2).AddMinutes(10), new { feature = "reports" }),
    ];

    private static UserState Replay(IEnumerable<string> lines)
    {
        var simulation = new OfflineSimulation(NoRules);
        var n = 0;
        foreach (var line in lines)
        {
            Assert.True(simulation.Feed(line, ++n).IsValid);
        }
        return simulation.Users["u"];
    }

    private static double[] Features(UserState s, DateTimeOffset now)
    {
        var f = new double[SegmentFeatures.Length];
        Assert.True(SegmentFeatures.TryCompute(s, now, f));
        return f;
    }

    [Fact]
    public void TryCompute_ThreeSessionsOverTwoDays_EachFeatureAsDocumented()
    {
        var state = Replay(Story);

        var f = Features(state, Day0.AddDays(5));

        // active days 2, 6 events / 2 days, 2 features, (20 + 0 + 10) min / 3 sessions, 5 − 2 days ago (+10 min), 2 of 3 tasks failed, 5 days since first.
        Assert.Equal([2, 3, 2, 10, 3 - 10 / 1440.0, 2 / 3.0, 5], f.Select(x => Math.Round(x, 9)), new ToleranceComparer());
    }

    [Fact]
    public void TryCompute_NoActivityCounted_False()
    {
        Assert.False(SegmentFeatures.TryCompute(new UserState { UserId = "u" }, Day0, new double[SegmentFeatures.Length]));
    }

    [Fact]
    public void TryCompute_StateStoredAndReadAfterEveryEvent_SameFeaturesAsKeptInMemory()
    {
        // The worker reads the state from Redis for each batch: the counts must survive the codec exactly.
        var simulation = new OfflineSimulation(NoRules);
        UserState? stored = null;
        var n = 0;
        foreach (var line in Story)
        {
            simulation.Feed(line, ++n);
            stored = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(simulation.Users["u"]));
        }

        Assert.Equal(Features(simulation.Users["u"], Day0.AddDays(5)), Features(stored!, Day0.AddDays(5)));
        Assert.Equal(UserStateSerializer.ToJson(simulation.Users["u"]), UserStateSerializer.ToJson(stored!));
    }

    [Fact]
    public void Observe_RedeliveredAndDuplicateEvents_CountedOnce()
    {
        var state = Replay([.. Story, .. Story]);

        Assert.Equal(6, state.Behaviour!.Events);
    }

    [Fact]
    public void Merge_AnonymousVisitIntoSignUp_CountsAddUp()
    {
        var into = new UserState { UserId = "u", Behaviour = new BehaviourCounts { Events = 5, ActiveDays = 2, LastDay = 20_400, TaskFailures = 1 } };
        var from = new UserState { UserId = "a", Behaviour = new BehaviourCounts { Events = 3, ActiveDays = 1, LastDay = 20_398, TaskCompletions = 2 } };

        UserMerge.Merge(into, from);

        Assert.Equal((8L, 3, 20_400, 1, 2), (into.Behaviour!.Events, into.Behaviour.ActiveDays, into.Behaviour.LastDay, into.Behaviour.TaskFailures, into.Behaviour.TaskCompletions));
    }

    [Fact]
    public void CountDay_SameDaysInAnyOrder_EachCountedOnce()
    {
        int[] days = [20_400, 20_401, 20_399, 20_401, 20_395, 20_400, 20_410, 20_396];
        var inOrder = new BehaviourCounts();
        var shuffled = new BehaviourCounts();

        foreach (var d in days.Order())
        {
            inOrder.CountDay(d);
        }
        foreach (var d in days)
        {
            shuffled.CountDay(d);
        }

        Assert.Equal((6, 20_410), (inOrder.ActiveDays, inOrder.LastDay));
        Assert.Equal((inOrder.ActiveDays, inOrder.LastDay, inOrder.RecentDays), (shuffled.ActiveDays, shuffled.LastDay, shuffled.RecentDays));
    }

    [Fact]
    public void Observe_EventLateAcrossMidnight_ActiveDaysAsInTimestampOrder()
    {
        var midnight = Day0.Date.AddDays(1);
        string[] inOrder =
        [
            Track("u", "Feature Used", midnight.AddMinutes(-2), new { feature = "reports" }),
            Track("u", "Feature Used", midnight.AddMinutes(1), new { feature = "reports" }),
        ];

        var late = Replay([inOrder[1], inOrder[0]]);

        Assert.Equal(2, late.Behaviour!.ActiveDays);
        Assert.Equal(Replay(inOrder).Behaviour!.ActiveDays, late.Behaviour.ActiveDays);
    }

    [Fact]
    public void Merge_BothActiveOnTheSameDay_ThatDayCountedOnce()
    {
        var into = new BehaviourCounts();
        var from = new BehaviourCounts();
        into.CountDay(20_400);
        into.CountDay(20_401);
        from.CountDay(20_401);
        from.CountDay(20_402);

        UserMerge.Merge(new UserState { UserId = "u", Behaviour = into }, new UserState { UserId = "a", Behaviour = from });

        Assert.Equal((3, 20_402), (into.ActiveDays, into.LastDay));
    }

    private sealed class ToleranceComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

        public int GetHashCode(double obj) => 0;
    }
}
