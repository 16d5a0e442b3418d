using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Tests;

public sealed class DecisionJsonTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 10, 15, 30, 123, TimeSpan.FromHours(2));

    public static TheoryData<Decision> Decisions() =>
    [
        new Decision("u-1", "setup-task-failing", "2026-11-24.3", Outcomes.Emitted, null, "0b7e3f9a-8d1c-8e2f-9a3b-1c2d3e4f5a6b", At,
            new TriggerInfo("count", ["m1", "m2", "m3"], new Dictionary<string, object> { ["task"] = "notifications-setup", ["count"] = 3, ["window"] = "PT10M" })),
        new Decision("ü <script>&'\"", "r", "v", Outcomes.Suppressed, Reasons.HourlyCap, null, At.AddTicks(4567),
            new TriggerInfo("threshold", [], new Dictionary<string, object> { ["metric"] = "sessionDrop", ["value"] = 0.175, ["big"] = 1e21, ["neg"] = -0.0, ["n"] = 3L, ["b"] = true })),
        new Decision("u", "r", "v", Outcomes.HeldOut, Reasons.Holdout, "id", At,
            new TriggerInfo("event", ["m\n1"], new Dictionary<string, object> { ["emoji"] = "😀", ["ctl"] = "\u0001" })),
        new Decision("u", "r", "v", Outcomes.Deferred, Reasons.QuietHours, "id", At,
            new TriggerInfo("event", ["m"], new Dictionary<string, object> { ["list"] = new[] { 1, 2 } })),
        new Decision("u", "r", "v", Outcomes.Emitted, null, "id", At, new TriggerInfo("event", ["m"], new Dictionary<string, object>())) { Variant = "bold" },
    ];

    [Theory]
    [MemberData(nameof(Decisions))]
    public void Serialize_AnyDecision_WritesWhatTheSerializerWrites(Decision decision)
    {
        var expected = JsonSerializer.Serialize(decision, InterventionCloudEvents.DataOptions);

        Assert.Equal(expected, DecisionJson.Serialize(decision));
    }
}
