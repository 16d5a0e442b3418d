using System.Text;
using System.Text.Json.Nodes;
using MicroMoments.Stream.Core.State;
using Xunit.Abstractions;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Format 2, the container of sections: every shape reads as in the other forms, unknown sections, sizes, corruption.</summary>
public sealed class StateContainerTests(ITestOutputHelper output)
{
    private const long T = 1_795_000_000_000;

    /// <summary>The full state, each of its fields alone (with the user id), and a new user.</summary>
    public static TheoryData<string> Shapes()
    {
        var data = new TheoryData<string> { "full", "new" };
        foreach (var (name, _) in JsonNode.Parse(UserStateSerializer.ToJson(UserStateSerializerTests.Full()))!.AsObject())
        {
            if (name != "u")
            {
                data.Add(name);
            }
        }
        return data;
    }

    private static UserState Shape(string name)
    {
        if (name == "full")
        {
            return UserStateSerializerTests.Full();
        }
        if (name == "new")
        {
            return new UserState { UserId = "u1" };
        }
        var full = JsonNode.Parse(UserStateSerializer.ToJson(UserStateSerializerTests.Full()))!.AsObject();
        var alone = new JsonObject { ["u"] = "u1", [name] = full[name]!.DeepClone() };
        return UserStateSerializer.Deserialize(Encoding.UTF8.GetBytes(alone.ToJsonString()));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Serialize_EveryShape_ReadsTheSameInFormat1JsonAndTheContainer(string shape)
    {
        var state = Shape(shape);
        var json = Encoding.UTF8.GetString(UserStateSerializer.ToJson(state));

        // Format 1 writes the period of the active hours only with the hours, as it always did: no state has one alone.
        foreach (var format in shape == "ahp" ? new[] { UserStateFormat.Json, UserStateFormat.Container } : [UserStateFormat.Binary, UserStateFormat.Json, UserStateFormat.Container])
        {
            var read = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state, format));

            // In Binary mode a state with a field format 1 has no place for is written as JSON: nothing is lost either way.
            Assert.Equal(json, Encoding.UTF8.GetString(UserStateSerializer.ToJson(read)));
        }
    }

    /// <summary>A copy of <paramref name="state"/> without the fields format 1 has no place for (the container's later sections).</summary>
    internal static UserState Format1Fields(UserState state)
    {
        var copy = UserStateSerializer.Deserialize(UserStateSerializer.ToJson(state));
        copy.UserDismissals = 0;
        copy.UserPausedUntil = 0;
        copy.Waiting = null;
        copy.UnservedCrossings = null;
        copy.Behaviour = null;
        copy.RetentionMarks = 0;
        copy.RetentionLatest = 0;
        copy.RetentionGroups = null;
        copy.LastSeen = null;
        return copy;
    }

    public static TheoryData<string> ValidSeeds() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "state"), "valid-*").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(ValidSeeds))]
    public void Deserialize_ValidFuzzSeed_ReadsTheSameInFormat1JsonAndTheContainer(string seed)
    {
        var state = UserStateSerializer.Read(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", "state", seed)), "f-1");
        var json = Encoding.UTF8.GetString(UserStateSerializer.ToJson(state));

        foreach (var format in new[] { UserStateFormat.Binary, UserStateFormat.Json, UserStateFormat.Container })
        {
            var read = UserStateSerializer.Read(UserStateSerializer.Serialize(state, format), "f-1");

            Assert.Equal(json, Encoding.UTF8.GetString(UserStateSerializer.ToJson(read)));
        }
    }

    [Fact]
    public void Deserialize_SectionsOfANewerVersion_SkipsThemKeepsTheRestAndWritesBackOnlyTheKeepOnes()
    {
        var full = UserStateSerializerTests.Full();
        var sections = CorruptStates.Sections(UserStateSerializer.Serialize(full));
        (ulong Key, byte[] Payload) keep = ((40UL << 1) | 1, [0xDE, 0xAD, 0x01, 0x05]), drop = (41UL << 1, [0xBE, 0xEF]);
        var newer = CorruptStates.Container([.. sections, keep, drop]);

        var read = UserStateSerializer.Deserialize(newer);
        var written = CorruptStates.Sections(UserStateSerializer.Serialize(read));

        Assert.Equal(UserStateSerializer.ToJson(full), UserStateSerializer.ToJson(read));
        Assert.Equal([.. sections, keep], written, SectionComparer.Instance);
    }

    [Fact]
    public void Serialize_KeptSectionAfterTheStateChanged_KeepsTheTimeBaseAndNamesItWasWrittenAgainst()
    {
        var full = UserStateSerializerTests.Full();
        var older = UserStateSerializer.Serialize(full);
        var names = UserStateSerializer.Deserialize(CorruptStates.Container([.. CorruptStates.Sections(older), ((40UL << 1) | 1, [0x01])]))
            .UnknownSections!.Names;
        var read = UserStateSerializer.Deserialize(CorruptStates.Container([.. CorruptStates.Sections(older), ((40UL << 1) | 1, [0x01])]));

        read.LastEventAt = T + 3_600_000;
        read.Sent!.Insert(0, new SentRecord(T + 3_600_000, "a-new-rule", "email", "retention"));
        var again = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(read));

        Assert.Equal(T, again.UnknownSections!.TimeBase);
        Assert.Equal(names, again.UnknownSections.Names.Take(names.Count));
        Assert.Equal(T + 3_600_000, again.LastEventAt);
        Assert.Equal("a-new-rule", again.Sent![0].RuleId);
        Assert.Equal(UserStateSerializer.ToJson(read), UserStateSerializer.ToJson(again));
    }

    [Fact]
    public void Serialize_FullAndNewState_ContainerWithinAFewBytesPerSectionOfFormat1()
    {
        foreach (var (name, state) in new[] { ("full", UserStateSerializerTests.Full()), ("new", new UserState { UserId = "u1" }) })
        {
            var format1 = UserStateSerializer.Serialize(state, UserStateFormat.Binary).Length;
            var container = UserStateSerializer.Serialize(state, UserStateFormat.Container);
            var sections = CorruptStates.Sections(container).Count;
            var json = UserStateSerializer.ToJson(state).Length;

            output.WriteLine($"{name} state: format 1 {format1} B, container {container.Length} B ({sections} sections, {(container.Length - format1) / (double)sections:0.0} B more per section), JSON {json} B");
            Assert.InRange(container.Length, 1, format1 + (4 * sections));
        }
    }

    [Fact]
    public void Serialize_ExampleUsers_ContainerWithinAFewBytesPerSectionOfFormat1()
    {
        var simulation = new Simulation.OfflineSimulation(Scenario.Defaults);
        foreach (var line in Simulation.NdjsonLines.Read(File.ReadAllBytes(Path.Combine(DocsLinksTests.Root, "docs", "examples", "events.ndjson"))))
        {
            _ = simulation.Feed(line.Bytes, line.Number, "events.ndjson");
        }
        var users = simulation.Users.Values.ToList();

        var format1 = users.Sum(u => UserStateSerializer.Serialize(u, UserStateFormat.Binary).Length);
        var container = users.Sum(u => UserStateSerializer.Serialize(u, UserStateFormat.Container).Length);
        var sections = users.Sum(u => CorruptStates.Sections(UserStateSerializer.Serialize(u)).Count);
        var json = users.Sum(u => UserStateSerializer.ToJson(u).Length);

        output.WriteLine($"docs/examples/events.ndjson, {users.Count} users: format 1 {format1 / users.Count} B a user, container {container / users.Count} B "
            + $"({sections / (double)users.Count:0.0} sections, {(container - format1) / (double)sections:0.0} B more per section), JSON {json / users.Count} B");
        Assert.InRange(container, 1, format1 + (4 * sections));
    }

    [Fact]
    public void Read_SectionsOutOfIdOrder_IsUnreadable()
    {
        var sections = CorruptStates.Sections(UserStateSerializer.Serialize(UserStateSerializerTests.Full()));
        (sections[2], sections[3]) = (sections[3], sections[2]);

        var ex = Assert.Throws<UnreadableStateException>(() => UserStateSerializer.Read(CorruptStates.Container(sections), "user-ü-1"));

        Assert.Contains("after section", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("container-cut", "past the end")]
    [InlineData("container-duplicate-section", "twice")]
    [InlineData("container-overrun", "past the end")]
    [InlineData("container-section-not-consumed", "did not take")]
    [InlineData("container-no-header", "before the header")]
    [InlineData("container-name-not-in-table", "shared table")]
    public void Read_CorruptContainer_IsUnreadableAndSaysWhy(string form, string why)
    {
        var value = CorruptStates.For("u-1").Single(c => c.Name == form).Value;

        var ex = Assert.Throws<UnreadableStateException>(() => UserStateSerializer.Read(value, "u-1"));

        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enforce_OverTheByteBound_TrimsKeptSectionsOfANewerVersionFirst()
    {
        var sections = CorruptStates.Sections(UserStateSerializer.Serialize(UserStateSerializerTests.Full()));
        var read = UserStateSerializer.Deserialize(CorruptStates.Container([.. sections, ((40UL << 1) | 1, new byte[2_000])]));
        var records = read.Interventions!.Count;

        var (_, trimmed) = StateBounds.Enforce(read, new StateLimits { MaxStateBytes = 1_500 });

        Assert.Equal(1, trimmed);
        Assert.Empty(read.UnknownSections!.Sections);
        Assert.Equal(records, read.Interventions.Count);
    }

    /// <summary>A waiting entry as the version before reserved minutes wrote it (section 18 is the entries' JSON).</summary>
    private const string WaitingBeforeReservedMinutes = """
        {"u":"u1","wt":[{"id":"i-1","r":"ping","c":"push","p":50,"at":1795000060000,"x":1795003600000,"b":"hourly_cap","ta":1795000000000,
        "k":"event","e":["m1"],"mt":"","mb":"hi","i":"do"}]}
        """;

    [Fact]
    public void Deserialize_WaitingEntryWrittenBeforeReservedMinutes_ReadsWithNoneInEveryForm()
    {
        var old = UserStateSerializer.Deserialize(Encoding.UTF8.GetBytes(WaitingBeforeReservedMinutes));

        foreach (var format in new[] { UserStateFormat.Json, UserStateFormat.Container })
        {
            var read = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(old, format));

            Assert.Equal(("i-1", null), (Assert.Single(read.Waiting!).InterventionId, read.Waiting![0].Reserved));
        }
    }

    [Fact]
    public void Serialize_WaitingEntryWithAReservedMinute_KeepsTheMinuteNeverTheWaitForOne()
    {
        var state = UserStateSerializer.Deserialize(Encoding.UTF8.GetBytes(WaitingBeforeReservedMinutes));
        state.Waiting![0].Reserved = 1_795_000_060_000 / 60_000;
        state.Waiting[0].Awaiting = new Policies.MinuteWait(null!, Decided: true);

        var read = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state, UserStateFormat.Container));

        Assert.Equal(1_795_000_060_000 / 60_000, Assert.Single(read.Waiting!).Reserved);
        Assert.Null(read.Waiting![0].Awaiting);
    }

    private sealed class SectionComparer : IEqualityComparer<(ulong Key, byte[] Payload)>
    {
        public static readonly SectionComparer Instance = new();

        public bool Equals((ulong Key, byte[] Payload) x, (ulong Key, byte[] Payload) y) => x.Key == y.Key && x.Payload.AsSpan().SequenceEqual(y.Payload);

        public int GetHashCode((ulong Key, byte[] Payload) obj) => obj.Key.GetHashCode();
    }
}
