using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;
using Xunit.Abstractions;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Issue 11, items 2 (one number freezes consumption) and 6 (unbounded growth): the bounds on user state and the population baseline.</summary>
public sealed class StateBoundsTests(ITestOutputHelper output)
{
    private static RuleEngine Engine(StateLimits? limits = null, PopulationBaseline? population = null) =>
        new(Scenario.Defaults, new EngineOptions { CheckStaleness = false, Limits = limits ?? new StateLimits() }, population);

    private static ClickEvent Completed(string user, string task, object duration, int minute = 0) =>
        Track(user, "Task Completed", T0.AddMinutes(minute), new Dictionary<string, object> { ["task"] = task, ["durationMs"] = duration });

    [Theory]
    [InlineData("1e400")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("NaN")]
    [InlineData(-5)]
    [InlineData(0)]
    [InlineData(1e12)]
    public void Item2_NonFiniteNegativeOrAbsurdDuration_IgnoredAndCountedRestOfEventApplied(object duration)
    {
        var engine = Engine();
        var state = new UserState();

        var result = engine.Apply(state, Completed("u1", "import", duration), Next(), T0);

        Assert.True(result.Applied);
        Assert.Equal(1, result.IgnoredValues);
        Assert.Null(state.TaskDurations);
        Assert.Equal(0, engine.Population.TaskCount);
        Assert.Equal(T0.ToUnixTimeMilliseconds(), state.LastEventAt); // still activity
    }

    [Fact]
    public void Item2_PlausibleDuration_LearntNotCounted()
    {
        var state = new UserState();

        var result = Engine().Apply(state, Completed("u1", "import", 12_000), Next(), T0);

        Assert.Equal(0, result.IgnoredValues);
        Assert.Equal(12_000, state.TaskDurations!["import"]);
    }

    [Fact]
    public void Item2_OneUserHammeringATask_DoesNotMoveThePopulationMedianOrAnotherUsersArchetype()
    {
        PopulationBaseline Run(bool hostile, out string victimArchetype)
        {
            var population = new PopulationBaseline();
            var engine = Engine(population: population);
            for (var i = 0; i < 9; i++)
            {
                engine.Apply(new UserState(), Completed($"other-{i}", "import", 10_000 + 100 * i), Next(), T0);
            }
            if (hostile)
            {
                var attacker = new UserState();
                for (var i = 0; i < 1_000; i++)
                {
                    engine.Apply(attacker, Completed("attacker", "import", i % 2 == 0 ? 86_400_000 : 1, i), Next(), T0.AddMinutes(i));
                }
            }
            var victim = new UserState();
            engine.Apply(victim, Completed("victim", "import", 6_500, 2_000), Next(), T0.AddMinutes(2_000));
            engine.Apply(victim, Completed("victim", "import", 6_500, 2_001), Next(), T0.AddMinutes(2_001));
            victimArchetype = UserProfile.Archetype(victim, T0.AddMinutes(2_001));
            return population;
        }

        var clean = Run(hostile: false, out var cleanArchetype);
        var attacked = Run(hostile: true, out var attackedArchetype);

        Assert.Equal(clean.UsualMs("import"), attacked.UsualMs("import"));
        Assert.Equal("efficiency_seeker", cleanArchetype);
        Assert.Equal(cleanArchetype, attackedArchetype);
    }

    [Fact]
    public void Item2_PopulationMedian_OneOutlierVoteMovesItAtMostOneRank()
    {
        var population = new PopulationBaseline();
        foreach (var ms in new[] { 9_000, 10_000, 10_000, 11_000, 12_000 })
        {
            population.Observe("import", ms);
        }
        var before = population.UsualMs("import");

        population.Observe("import", 1e300);

        Assert.Equal(PopulationBaseline.BucketMs(PopulationBaseline.Bucket(10_000)), before);
        Assert.InRange(population.UsualMs("import")!.Value, 9_000, 12_000);
    }

    [Fact]
    public void Item6_PopulationTaskCap_NewTasksRefusedAndCounted()
    {
        var population = new PopulationBaseline(maxTasks: 3);

        var accepted = Enumerable.Range(0, 10).Count(i => population.Observe($"task-{i}", 1_000));

        Assert.Equal(3, accepted);
        Assert.Equal(3, population.TaskCount);
        Assert.Equal(7, population.Refused);
        Assert.True(population.Observe("task-0", 2_000)); // a known task still counts
    }

    [Fact]
    public void Item6_ManyDistinctTraitsFeaturesAndTasks_BoundedLeastRecentlyUsedEvicted()
    {
        var limits = new StateLimits { MaxTraits = 3, MaxFeatures = 3, MaxTasks = 3 };
        var engine = Engine(limits);
        var state = new UserState();
        var evicted = 0;
        foreach (var name in new[] { "a", "b", "c", "a", "d" }) // "a" used again: "b" is now the oldest
        {
            evicted += engine.Apply(state, Track("u1", "Feature Used", T0, new { feature = name }), Next(), T0).Evicted;
            evicted += engine.Apply(state, Completed("u1", name, 1_000), Next(), T0).Evicted;
            evicted += engine.Apply(state, Parse(new { type = "identify", userId = "u1", messageId = Guid.NewGuid().ToString(), timestamp = T0.ToString("O"),
                traits = new Dictionary<string, string> { [name] = "v" } }), Next(), T0).Evicted;
        }

        Assert.Equal(["c", "a", "d"], state.FeatureCounts!.Keys);
        Assert.Equal(2, state.FeatureCounts["a"]);
        Assert.Equal(["c", "a", "d"], state.TaskDurations!.Keys);
        Assert.Equal(["c", "a", "d"], state.Traits!.Keys);
        Assert.Equal(3, evicted);
    }

    [Fact]
    public void Item6_TooLongTraitFeatureOrTaskName_NotStoredAndCounted()
    {
        var engine = Engine(new StateLimits { MaxStringLength = 16 });
        var state = new UserState();
        var longName = new string('x', 17);

        var ignored = engine.Apply(state, Track("u1", "Feature Used", T0, new { feature = longName }), Next(), T0).IgnoredValues
            + engine.Apply(state, Completed("u1", longName, 1_000), Next(), T0).IgnoredValues
            + engine.Apply(state, Parse(new { type = "identify", userId = "u1", messageId = "m", timestamp = T0.ToString("O"),
                traits = new Dictionary<string, string> { ["name"] = longName, ["plan"] = "trial" } }), Next(), T0).IgnoredValues;

        Assert.Equal(3, ignored);
        Assert.Null(state.FeatureCounts);
        Assert.Null(state.TaskDurations);
        Assert.Equal(["plan"], state.Traits!.Keys);
    }

    [Theory]
    [InlineData(UserStateFormat.Container)]
    [InlineData(UserStateFormat.Binary)]
    [InlineData(UserStateFormat.Json)]
    public void Item6_RecencyOrder_SurvivesEveryStoredForm(UserStateFormat format)
    {
        var engine = Engine(new StateLimits { MaxFeatures = 3 });
        var state = new UserState { UserId = "u1" };
        foreach (var name in new[] { "a", "b", "c", "a" })
        {
            engine.Apply(state, Track("u1", "Feature Used", T0, new { feature = name }), Next(), T0);
        }

        var read = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state, format));
        engine.Apply(read, Track("u1", "Feature Used", T0, new { feature = "d" }), Next(), T0);

        Assert.Equal(["c", "a", "d"], read.FeatureCounts!.Keys);
    }

    [Fact]
    public void Item6_StoredStateOverTheBounds_ReadBackAndTrimmedByTheNextEvent()
    {
        // What a version without bounds wrote for a hostile user: the format is unchanged, so it still reads.
        var old = new UserState { UserId = "u1", LastEventAt = T0.ToUnixTimeMilliseconds(), FeatureCounts = new(StringComparer.Ordinal) };
        for (var i = 0; i < 5_000; i++)
        {
            old.FeatureCounts[$"feature-{i}"] = 1;
        }
        var read = UserStateSerializer.Deserialize(LegacyFormat1.Serialize(old));

        var result = Engine().Apply(read, Track("u1", "Email Opened", T0.AddMinutes(1)), Next(), T0);

        Assert.Equal(new StateLimits().MaxFeatures, read.FeatureCounts!.Count);
        Assert.Equal("feature-4999", read.FeatureCounts.GetAt(read.FeatureCounts.Count - 1).Key);
        Assert.Equal(5_000 - new StateLimits().MaxFeatures, result.Evicted);
    }

    [Fact]
    public void Item6_HostileUser_StateStaysUnderTheByteBoundOldestHistoryTrimmedAndCounted()
    {
        var unbounded = new StateLimits
        {
            MaxTraits = int.MaxValue, MaxFeatures = int.MaxValue, MaxTasks = int.MaxValue, MaxStringLength = int.MaxValue,
            MaxStateBytes = int.MaxValue, MaxPopulationTasks = int.MaxValue,
        };
        var before = Hostile(unbounded, out _, out _);
        var after = Hostile(new StateLimits(), out var evicted, out var trimmed);

        output.WriteLine($"hostile user's stored state: {before:N0} bytes without bounds, {after:N0} bytes with the defaults ({evicted:N0} evicted, {trimmed:N0} trimmed)");
        Assert.True(before > 1_000_000, $"{before}");
        Assert.True(after <= new StateLimits().MaxStateBytes, $"{after}");
        Assert.True(trimmed > 0);
    }

    [Fact]
    public void Item6_ByteBound_TrimsOldestHistoryFirstKeepsWatermarksAndTimers()
    {
        var engine = Engine(new StateLimits { MaxStateBytes = 4_096, MaxStringLength = 200 });
        var state = new UserState();
        engine.Apply(state, Track("u1", "Feature Used", T0, new { feature = "first" }), Next(), T0);
        for (var i = 0; i < 60; i++)
        {
            engine.Apply(state, Track("u1", "Feature Used", T0.AddSeconds(i), new { feature = $"{i}-{new string('f', 150)}" }), Next(), T0);
        }

        Assert.True(StateContainer.SerializedSize(state) <= 4_096);
        Assert.DoesNotContain("first", state.FeatureCounts!.Keys);
        Assert.Contains($"59-{new string('f', 150)}", state.FeatureCounts.Keys);
        Assert.NotEmpty(state.Watermarks);
        Assert.NotNull(state.Timers); // the inactivity timer of the default rules
    }

    /// <summary>The kind of user issue 11 found at 1.5–2.1 MB: thousands of distinct traits, features and tasks with long names.</summary>
    private static int Hostile(StateLimits limits, out int evicted, out int trimmed)
    {
        var engine = Engine(limits);
        var state = new UserState();
        (evicted, trimmed) = (0, 0);
        for (var i = 0; i < 3_000; i++)
        {
            var name = $"{i}-{new string('h', 200)}";
            var at = T0.AddSeconds(i);
            foreach (var e in new[]
            {
                Track("hostile", "Feature Used", at, new { feature = name }),
                Track("hostile", "Task Completed", at, new Dictionary<string, object> { ["task"] = name, ["durationMs"] = 1_000 + i }),
                Parse(new { type = "identify", userId = "hostile", messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O"),
                    traits = new Dictionary<string, string> { [name] = name } }),
            })
            {
                var r = engine.Apply(state, e, Next(), T0.AddSeconds(i));
                evicted += r.Evicted;
                trimmed += r.Trimmed;
            }
        }
        return StateContainer.SerializedSize(state);
    }
}
