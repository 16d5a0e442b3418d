using System.Reflection;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Core.State.Sections;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Each section is one room: besides its codec it declares its count bound, its part of the size bound, its place in the
/// trim order and its alias merge, and what it declares is what it does, on its own fields only.
/// </summary>
public sealed class StateSectionRoomsTests
{
    private const string Evicts = "evict", Bounds = "bound", Trims = "trim", Merges = "merge";

    /// <summary>What each section declares beyond its codec; a new section needs a row, so it decides each.</summary>
    public static TheoryData<int, string> Rooms() => new()
    {
        { 2, "bound merge" },             // arrival: watermarks stay with the tombstone, recent ids join
        { 3, "evict bound trim merge" },  // identity: traits trimmed, attributes only evicted
        { 4, "evict bound trim merge" },  // features
        { 5, "bound trim merge" },        // engagement
        { 6, "merge" },                   // sessions: scalars
        { 7, "evict bound trim merge" },  // tasks
        { 8, "merge" },                   // onboarding: scalars
        { 9, "merge" },                   // active days: scalars (and the event-time day set that goes with them)
        { 10, "bound merge" },            // active hours
        { 11, "bound trim merge" },       // count windows
        { 12, "evict bound merge" },      // timers: pending work, never trimmed for size
        { 13, "bound trim merge" },       // intervention memory
        { 14, "bound merge" },            // dismissal pauses
        { 15, "merge" },                  // auto-pause: a scalar
        { 16, "bound trim merge" },       // sent log
        { 17, "bound merge" },            // schedule: pending work, bounded when added
        { 18, "bound merge" },            // waiting: pending work, bounded when added
        { 19, "bound merge" },            // unserved crossings: bounded when added
        { 20, "bound" },                  // event time: bounded when added, kept for the lateness, not merged
        { 21, "merge" },                  // behaviour counts (learned segments): scalars
        { 22, "bound merge" },            // retention: bounded when added (RetentionCounting.MaxGroups)
        { 24, "bound merge" },            // bandit arms: one per bandit experiment, kept (the arm a user saw), the identified user's wins
        { 25, "bound merge" },            // last seen (did / not did): bounded when added (LastSeenRecord.MaxEntries), the later time wins
    };

    [Fact]
    public void StateSections_EverySection_HasARowInTheRoomTable()
    {
        Assert.Equal(Rooms().Select(r => (int)r[0]), StateSections.All.Select(s => s.Id));
    }

    [Theory]
    [MemberData(nameof(Rooms))]
    public void Section_ImplementsExactlyWhatItsRowDeclares(int id, string declared)
    {
        var section = StateSections.Find(id)!;
        // Declared on the section's own type (not inherited from the base's default); checked apart from StateSections.Overrides.
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        bool Own(string name) => section.GetType().GetMethod(name, Declared) is not null || section.GetType().GetProperty(name, Declared) is not null;
        var trim = new[] { Own(nameof(StateSection.TrimRank)), Own(nameof(StateSection.Trimmable)), Own(nameof(StateSection.TrimOldest)) };

        Assert.True(trim.All(x => x) || !trim.Any(x => x), $"section {id} declares only part of trimming");
        var actual = new[] { (Evicts, Own(nameof(StateSection.Evict))), (Bounds, Own(nameof(StateSection.UpperBoundBytes))), (Trims, trim[0]), (Merges, Own(nameof(StateSection.Merge))) }
            .Where(x => x.Item2).Select(x => x.Item1);
        Assert.Equal(declared, string.Join(' ', actual));
        Assert.Equal(declared.Contains(Evicts, StringComparison.Ordinal), StateSections.Evicting.Contains(section));
        Assert.Equal(declared.Contains(Bounds, StringComparison.Ordinal), StateSections.Sized.Contains(section));
    }

    [Theory]
    [MemberData(nameof(Rooms))]
    public void Merge_SectionAloneIntoANewUser_MovesOverWhenDeclaredAndTouchesNoOtherSection(int id, string declared)
    {
        var section = StateSections.Find(id)!;
        var from = Alone(MergeAndBoundsGoldenTests.Later(), id);
        var into = new UserState { UserId = "identified" };

        UserMerge.Merge(into, from);

        Assert.Equal(declared.Contains(Merges, StringComparison.Ordinal), !section.IsEmpty(into));
        Assert.All(StateSections.All.Where(s => s.Id != id), other => Assert.True(other.IsEmpty(into), $"section {other.Id} changed"));
    }

    [Theory]
    [MemberData(nameof(Rooms))]
    public void Evict_SectionAloneOverEveryCountBound_EvictsWhenDeclared(int id, string declared)
    {
        var state = Alone(Richest(id), id);
        var before = UserStateSerializer.ToJson(state);

        var evicted = StateBounds.Enforce(state, new StateLimits { MaxTraits = 1, MaxFeatures = 1, MaxTasks = 1, MaxTimers = 1, MaxStateBytes = int.MaxValue }).Evicted;

        Assert.Equal(declared.Contains(Evicts, StringComparison.Ordinal), evicted > 0);
        Assert.Equal(evicted > 0, !before.AsSpan().SequenceEqual(UserStateSerializer.ToJson(state)));
    }

    [Theory]
    [MemberData(nameof(Rooms))]
    public void TrimOldest_SectionAlone_TrimsItsHistoryWhenDeclaredLeavesTheRest(int id, string declared)
    {
        var section = StateSections.Find(id)!;
        var state = Alone(Richest(id), id);
        var before = UserStateSerializer.ToJson(state);

        var pieces = 0;
        while (StateBounds.TrimOldest(state) > 0)
        {
            pieces++;
        }

        if (declared.Contains(Trims, StringComparison.Ordinal))
        {
            Assert.True(pieces > 0);
            Assert.Equal(0, section.Trimmable(state));
        }
        else
        {
            Assert.Equal(0, pieces);
            Assert.Equal(before, UserStateSerializer.ToJson(state)); // timers, the schedule, watermarks and scalars stay
        }
    }

    [Fact]
    public void TrimOldest_HistoryOfEverySection_GoesInTheDocumentedOrder()
    {
        var state = new UserState
        {
            UserId = "u1",
            Interventions = [new InterventionRecord { Id = "i1", RuleId = "r" }, new InterventionRecord { Id = "i2", RuleId = "r" }],
            Sent = [new SentRecord(1, "r", "push", "c")],
            Windows = new(StringComparer.Ordinal) { ["r|a"] = [new WindowHit(1, "e1"), new WindowHit(2, "e2")] },
            EngagementPoints = new() { [1] = 1, [2] = 1 },
            Traits = new(StringComparer.Ordinal) { ["a"] = "1", ["b"] = "2", ["c"] = "3" },
            FeatureCounts = new(StringComparer.Ordinal) { ["f"] = 1, ["g"] = 1 },
            TaskDurations = new(StringComparer.Ordinal) { ["t"] = 1 },
            Timers = [new PendingTimer { Id = "dwell", DueAt = 1 }],
        };
        state = UserStateSerializer.Deserialize(CorruptStates.Container([.. CorruptStates.Sections(UserStateSerializer.Serialize(state)), ((40UL << 1) | 1, [0x01])]));
        (string Name, int Count)[] Counts() =>
        [
            ("kept", state.UnknownSections?.Sections.Count ?? 0), ("intervention", state.Interventions?.Count ?? 0), ("sent", state.Sent?.Count ?? 0),
            ("window", state.Windows?.Sum(w => w.Value.Count + 1) ?? 0), ("day", state.EngagementPoints?.Count ?? 0),
            ("trait", state.Traits?.Count ?? 0), ("feature", state.FeatureCounts?.Count ?? 0), ("task", state.TaskDurations?.Count ?? 0),
        ];

        var order = new List<string>();
        for (var before = Counts(); StateBounds.TrimOldest(state) > 0; before = Counts())
        {
            order.Add(before.Zip(Counts()).First(x => x.First.Count != x.Second.Count).First.Name);
        }

        // The least recently used maps take turns, the fullest first (ties: traits, then features).
        Assert.Equal(
            ["kept", "intervention", "intervention", "sent", "window", "window", "window", "day", "day", "trait", "trait", "feature", "trait", "feature", "task"],
            order);
        Assert.Single(state.Timers!);
    }

    public static TheoryData<string, int> SourcesAndSections()
    {
        var data = new TheoryData<string, int>();
        foreach (var source in new[] { "full", "later", "hostile", "late" })
        {
            foreach (var section in StateSections.All.Where(x => !x.IsEmpty(Source(source))))
            {
                data.Add(source, section.Id);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SourcesAndSections))]
    public void UpperBoundBytes_SectionAlone_AtLeastItsStoredSize(string source, int id)
    {
        var state = Alone(Source(source), id);

        Assert.InRange(StateContainer.SerializedSize(state), 0, StateBounds.UpperBoundBytes(state));
    }

    [Theory]
    [InlineData("full")]
    [InlineData("later")]
    [InlineData("hostile")]
    [InlineData("late")]
    public void UpperBoundBytes_EverySection_AtLeastTheStoredSize(string source)
    {
        var state = Source(source);

        Assert.InRange(StateContainer.SerializedSize(state), 0, StateBounds.UpperBoundBytes(state));
    }

    private static UserState Source(string name) => name switch
    {
        "full" => UserStateSerializerTests.Full(),
        "later" => MergeAndBoundsGoldenTests.Later(),
        "late" => Late(),
        _ => MergeAndBoundsGoldenTests.Hostile(),
    };

    /// <summary>A user with as much event-time state as it keeps: every watched absence seen, every fired group of twenty hits.</summary>
    private static UserState Late()
    {
        var uuid = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b";
        return new UserState
        {
            UserId = "u1",
            LastEventAt = 1_795_000_000_000,
            EventTime = new EventTimeState
            {
                ActiveDays = uint.MaxValue,
                MissingSeen = Enumerable.Range(0, EventTimeState.MaxMissingSeen).ToDictionary(i => $"cart-abandoned|{uuid}-{i}", i => 1_795_000_000_000L - i, StringComparer.Ordinal),
                FiredGroups = [.. Enumerable.Range(0, EventTimeState.MaxFiredGroups).Select(g => new FiredGroup($"setup-task-failing|{uuid}-{g}",
                    [.. Enumerable.Range(0, 20).Select(h => new WindowHit(1_795_000_000_000L - h, $"{uuid}-{g}-{h}"))]))],
            },
        };
    }

    /// <summary>The hostile state when it holds section <paramref name="id"/> (over every count bound), else the every-section one.</summary>
    private static UserState Richest(int id) =>
        StateSections.Find(id)!.IsEmpty(MergeAndBoundsGoldenTests.Hostile()) ? MergeAndBoundsGoldenTests.Later() : MergeAndBoundsGoldenTests.Hostile();

    /// <summary>The header and section <paramref name="id"/> of <paramref name="source"/>, as a stored value holding nothing else reads.</summary>
    private static UserState Alone(UserState source, int id)
    {
        var sections = CorruptStates.Sections(UserStateSerializer.Serialize(source));
        var alone = UserStateSerializer.Deserialize(CorruptStates.Container([sections[0], .. sections.Where(s => (int)(s.Key >> 1) == id)]));
        Assert.False(StateSections.Find(id)!.IsEmpty(alone), $"the source holds nothing of section {id}");
        return alone;
    }
}
