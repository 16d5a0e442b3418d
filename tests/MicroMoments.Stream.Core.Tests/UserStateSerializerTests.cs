using System.Text;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

public sealed class UserStateSerializerTests
{
    private const long T = 1_795_000_000_000;

    /// <summary>Every field set, with the awkward cases: negative deltas, null and empty collections, repeated strings, UUIDs of both cases.</summary>
    internal static UserState Full() => new()
    {
        UserId = "user-ü-1",
        Watermarks = new(StringComparer.Ordinal) { ["clickstream/3"] = 1_234_567, ["feedback/0"] = 0 },
        FirstSeenAt = T - 86_400_000,
        SignedUpAt = T - 86_000_000,
        LastEventAt = T,
        Device = "mobile",
        Timezone = "Europe/Berlin",
        Traits = new(StringComparer.Ordinal) { ["name"] = "Ada", ["plan"] = "" },
        FeatureCounts = new(StringComparer.Ordinal) { ["dashboard"] = 3, ["reports"] = 1 },
        LastFeature = "dashboard",
        EngagementPoints = new() { [20_700] = 25, [20_701] = -5 },
        LastActiveDay = 20_701,
        StreakDays = 2,
        SessionStartedAt = T - 60_000,
        LastSessionMs = 900_000,
        SessionBaselineMs = 1_200_000,
        TaskDurations = new(StringComparer.Ordinal) { ["export"] = 42_000 },
        FastCompletions = 1,
        OnboardingStep = 3,
        OnboardingTotal = 5,
        OnboardingCompleted = true,
        Interventions =
        [
            new InterventionRecord { Id = "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b", RuleId = "help-center-demo", Variant = "short", At = T - 1000, Status = "clicked", Converted = true, ConvertUntil = T + 604_800_000, Ghost = null, Counted = FeedbackKinds.Delivered | FeedbackKinds.Clicked },
            new InterventionRecord { Id = "0B7E3F9A-8D1C-8E2F-9A3B-1C2D3E4F5A6C", RuleId = "help-center-demo", At = T - 500, Converted = false, Ghost = true },
        ],
        Dismissals = new(StringComparer.Ordinal) { ["help-center-demo"] = 2 },
        RulePausedUntil = new(StringComparer.Ordinal) { ["cart-abandoned"] = T + 3_600_000 },
        AutoPausedAt = T - 10,
        UserDismissals = 2,
        UserPausedUntil = T + 604_800_000,
        RetentionMarks = 0b101011,
        RetentionLatest = T - 500,
        LastSeen = new(StringComparer.Ordinal) { ["task failed"] = T - 1000, ["page | where name equals pricing"] = T },
        RetentionGroups = [new RetentionGroup { RuleId = "help-center-demo", Arm = "treated", Anchor = T - 1000, Marks = 6 }, new RetentionGroup { RuleId = "*", Arm = "treated", Anchor = T - 1000 }],
        RecentIds = [int.MinValue, -1, 0, 1, int.MaxValue],
        Windows = new(StringComparer.Ordinal) { ["setup-task-failing|a"] = [new WindowHit(T - 5000, "m1"), new WindowHit(T, "m2")], ["empty"] = [] },
        Timers =
        [
            new PendingTimer { Id = "~idle", DueAt = T + 900_000, ArmedBy = "m2" },
            new PendingTimer { Id = "cart-abandoned|c1", OwnRuleId = "cart-abandoned", DueAt = T + 300_000, ArmedBy = "m2", Details = new(StringComparer.Ordinal) { ["cartId"] = "c1" } },
        ],
        Sent = [new SentRecord(T - 1000, "help-center-demo", "in_app", "conversion"), new SentRecord(T - 2000, "tip", "in_app", "education", true)],
        IndexedDueAt = T + 300_000,
        ActiveHours = [0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0xF3, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0xFF],
        ActiveHoursPeriod = 1385,
        Behaviour = new BehaviourCounts { Events = 42, ActiveDays = 3, LastDay = 20_701, FinishedSessions = 2, FinishedSessionMs = 1_500_000, TaskFailures = 4, TaskCompletions = 1 },
    };

    [Fact]
    public void Serialize_FullState_RoundTripsEveryField()
    {
        var state = Full();

        var copy = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));

        Assert.Equal(Encoding.UTF8.GetString(UserStateSerializer.ToJson(state)), Encoding.UTF8.GetString(UserStateSerializer.ToJson(copy)));
    }

    [Fact]
    public void Serialize_NewState_RoundTripsDefaults()
    {
        var state = new UserState { UserId = "u1" };

        var copy = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));

        Assert.Equal(UserStateSerializer.ToJson(state), UserStateSerializer.ToJson(copy));
        Assert.Empty(copy.Watermarks);
        Assert.Null(copy.Timers);
    }

    [Fact]
    public void Deserialize_JsonWrittenByEarlierVersions_ReadsTheSameState()
    {
        var json = UserStateSerializer.ToJson(Full());

        var state = UserStateSerializer.Deserialize(json);

        Assert.Equal(json, UserStateSerializer.ToJson(state));
        Assert.Equal("short", state.Interventions![0].Variant);
    }

    [Fact]
    public void Serialize_FullState_IsLessThanHalfTheJson()
    {
        var state = Full();

        var binary = UserStateSerializer.Serialize(state);

        Assert.Equal(2, binary[0]);
        Assert.True(binary.Length * 2 < UserStateSerializer.ToJson(state).Length, $"{binary.Length} B binary vs {UserStateSerializer.ToJson(state).Length} B JSON");
    }

    [Fact]
    public void Deserialize_BinaryWrittenBeforeTheAnonymousFlag_ReadsAsIdentified()
    {
        // Format 1 as every earlier version wrote it for user "a": version, field bits (user id only), the id.
        byte[] old = [LegacyFormat1.Version1, 0x01, 0x04, (byte)'a'];

        var state = UserStateSerializer.Deserialize(old);

        Assert.Equal(("a", false), (state.UserId, state.Anonymous));
        Assert.False(UserStateSerializer.Deserialize("""{"u":"a","wm":{}}"""u8).Anonymous);
    }

    [Fact]
    public void Serialize_AnonymousFlag_RoundTripsInBothForms()
    {
        var state = new UserState { UserId = "a", Anonymous = true, MergedInto = "b" };

        Assert.True(UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state)).Anonymous);
        Assert.Contains("\"an\":true", Encoding.UTF8.GetString(UserStateSerializer.ToJson(state)), StringComparison.Ordinal);
        Assert.True(UserStateSerializer.Deserialize(UserStateSerializer.ToJson(state)).Anonymous);
    }

    [Fact]
    public void Deserialize_TruncatedValue_ThrowsUnreadableState()
    {
        var binary = UserStateSerializer.Serialize(Full());

        var ex = Assert.Throws<UnreadableStateException>(() => UserStateSerializer.Deserialize(binary.AsSpan(0, binary.Length - 1)));
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    [Theory]
    [InlineData(UserStateFormat.Container, 2)]
    [InlineData(UserStateFormat.Binary, 1)]
    [InlineData(UserStateFormat.Json, (byte)'{')]
    public void Serialize_NamedFormat_WritesThatFormatAndReadsBack(UserStateFormat format, byte first)
    {
        var state = format == UserStateFormat.Binary ? StateContainerTests.Format1Fields(Full()) : Full();

        var written = UserStateSerializer.Serialize(state, format);

        Assert.Equal(first, written[0]);
        Assert.Equal(Encoding.UTF8.GetString(UserStateSerializer.ToJson(state)), Encoding.UTF8.GetString(UserStateSerializer.ToJson(UserStateSerializer.Deserialize(written))));
    }

    [Fact]
    public void Serialize_NoFormatNamed_WritesTheContainer()
    {
        Assert.Equal(StateContainer.Version2, UserStateSerializer.Serialize(new UserState { UserId = "u1" })[0]);
    }
}
