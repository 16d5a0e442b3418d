using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Tests;

public sealed class InterventionCloudEventsTests
{
    private static InterventionCommand Sample() => new()
    {
        InterventionId = InterventionIds.Create("u-123", "setup-task-failing", "m-3"),
        UserId = "u-123",
        RuleId = "setup-task-failing",
        RuleVersion = "v1",
        Moment = "clarification",
        Channel = "in_app",
        Priority = 80,
        Intent = "know",
        Message = new InterventionMessage("Need a hand?", "body", new MessageAction("Watch", "https://x")),
        DeliverAfter = new DateTimeOffset(2026, 11, 24, 10, 15, 31, 2, TimeSpan.Zero),
        ExpiresAt = new DateTimeOffset(2026, 11, 24, 11, 15, 31, 2, TimeSpan.Zero),
        Trigger = new TriggerInfo("count", ["a", "b", "c"], new Dictionary<string, object> { ["task"] = "n", ["count"] = 3 }),
        User = new UserSummary("explorer", "newcomer", "mobile", "Europe/Berlin"),
        DecidedAt = new DateTimeOffset(2026, 11, 24, 10, 15, 31, 2, TimeSpan.Zero).AddTicks(1234),
    };

    [Fact]
    public void Encode_WritesContractEnvelope()
    {
        using var doc = JsonDocument.Parse(InterventionCloudEvents.Encode(Sample()));
        var root = doc.RootElement;

        Assert.Equal("1.0", root.GetProperty("specversion").GetString());
        Assert.Equal("io.micromoments.intervention.v1", root.GetProperty("type").GetString());
        Assert.Equal("micromoments-stream", root.GetProperty("source").GetString());
        Assert.Equal("u-123", root.GetProperty("subject").GetString());
        Assert.Equal("application/json", root.GetProperty("datacontenttype").GetString());
        Assert.Equal("2026-11-24T10:15:31.002Z", root.GetProperty("time").GetString());
        var data = root.GetProperty("data");
        Assert.Equal(root.GetProperty("id").GetString(), data.GetProperty("interventionId").GetString());
        Assert.Equal("2026-11-24T10:15:31.002Z", data.GetProperty("deliverAfter").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("experiment").ValueKind);
        Assert.Equal("control", data.GetProperty("variant").GetString());
        Assert.Equal(3, data.GetProperty("trigger").GetProperty("details").GetProperty("count").GetInt32());
        Assert.Equal("newcomer", data.GetProperty("user").GetProperty("archetype").GetString());
    }

    [Fact]
    public void Decode_EncodedCommand_RoundTripsWithDecisionTime()
    {
        var decoded = InterventionCloudEvents.Decode(InterventionCloudEvents.Encode(Sample()));

        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 15, 31, 2, TimeSpan.Zero), decoded.DecidedAt);
        Assert.Equal(Sample().InterventionId, decoded.InterventionId);
        Assert.Equal(Sample().Message, decoded.Message);
    }

    [Fact]
    public void Encode_SameCommand_SameBytes() =>
        Assert.Equal(InterventionCloudEvents.Encode(Sample()), InterventionCloudEvents.Encode(Sample()));

    [Fact]
    public void Create_Id_IsDeterministicUuidAndDistinctPerTrigger()
    {
        var a = InterventionIds.Create("u", "r", "t1");

        Assert.Equal(a, InterventionIds.Create("u", "r", "t1"));
        Assert.NotEqual(a, InterventionIds.Create("u", "r", "t2"));
        Assert.True(Guid.TryParse(a, out _));
    }

    public static TheoryData<InterventionCommand> Commands() =>
    [
        Sample(),
        Sample() with { DecidedAt = new DateTimeOffset(2026, 11, 24, 10, 15, 31, TimeSpan.FromHours(-3)) },
        Sample() with { DecidedAt = new DateTimeOffset(2026, 11, 24, 10, 15, 31, 100, TimeSpan.Zero) },
        Sample() with
        {
            Message = new InterventionMessage("Tipp für dich <b>&'\"", "😀 line\nbreak", null),
            Variant = "short", Experiment = "help-demo-copy", Intent = "know",
            User = new UserSummary("lapsed", "explorer", null, null, "lapsed"),
            Trigger = new TriggerInfo("threshold", [], new Dictionary<string, object> { ["metric"] = "sessionDrop", ["value"] = 0.175, ["n"] = 3L, ["b"] = false }),
        },
        Sample() with { Message = new InterventionMessage("t", "b", new MessageAction("Go", null)) },
        Sample() with { Trigger = new TriggerInfo("event", ["m"], new Dictionary<string, object> { ["odd"] = new[] { 1 } }) },
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Encode_AnyCommand_WritesTheSdksBytes(InterventionCommand command) =>
        Assert.Equal(Encoding.UTF8.GetString(InterventionCloudEvents.EncodeWithSdk(command)), Encoding.UTF8.GetString(InterventionCloudEvents.Encode(command)));
}
