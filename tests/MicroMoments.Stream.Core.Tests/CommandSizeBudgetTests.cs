using System.Text.Json;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Commands stay within <see cref="CommandSizeBudget.MaxValueBytes"/>: text copied from events is cut, with the marker,
/// and short text is kept whole. Before the budget a 912 KB event gave a 910 KB command.
/// </summary>
public sealed class CommandSizeBudgetTests
{
    private static InterventionCommand Command(IReadOnlyDictionary<string, object>? details = null, string body = "body", string? device = "mobile") => new()
    {
        InterventionId = InterventionIds.Create("u-1", "r1", "m-1"),
        UserId = "u-1",
        RuleId = "r1",
        RuleVersion = "v1",
        Moment = "reward",
        Channel = "toast",
        Priority = 50,
        Intent = "do",
        Message = new InterventionMessage("Hi", body, new MessageAction("Go", "app://x")),
        DeliverAfter = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero),
        ExpiresAt = new DateTimeOffset(2026, 11, 24, 11, 0, 0, TimeSpan.Zero),
        Trigger = new TriggerInfo("event", ["m-1"], details ?? new Dictionary<string, object> { ["task"] = "short" }),
        User = new UserSummary("explorer", "newcomer", device, "Europe/Berlin"),
        DecidedAt = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero),
    };

    private static JsonElement Data(byte[] value) => JsonDocument.Parse(value).RootElement.GetProperty("data");

    [Fact]
    public void Encode_PropertyOverBudget_CutWithMarkerAndWithinBudget()
    {
        var command = Command(new Dictionary<string, object> { ["note"] = new string('x', 950_000), ["task"] = "short", ["count"] = 3 });

        var value = InterventionCloudEvents.Encode(command);

        Assert.InRange(value.Length, CommandSizeBudget.MaxValueBytes - 1000, CommandSizeBudget.MaxValueBytes);
        var details = Data(value).GetProperty("trigger").GetProperty("details");
        Assert.EndsWith(CommandSizeBudget.Marker, details.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal(("short", 3), (details.GetProperty("task").GetString(), details.GetProperty("count").GetInt32()));
    }

    [Fact]
    public void Encode_LongBodyAndLongProperty_BothCutToOneLengthShortTextWhole()
    {
        var command = Command(new Dictionary<string, object> { ["note"] = new string('n', 600_000) }, body: new string('b', 600_000));

        var data = Data(InterventionCloudEvents.Encode(command));

        var body = data.GetProperty("message").GetProperty("body").GetString()!;
        var note = data.GetProperty("trigger").GetProperty("details").GetProperty("note").GetString()!;
        Assert.EndsWith(CommandSizeBudget.Marker, body, StringComparison.Ordinal);
        Assert.Equal(body.Length, note.Length);
        Assert.Equal("Hi", data.GetProperty("message").GetProperty("title").GetString());
    }

    [Fact]
    public void Encode_EscapedTextOverBudget_MeasuredAsEncoded()
    {
        // Each of these is written \u00e9 (6 bytes): 200,000 characters are 1.2 MB of JSON.
        var command = Command(new Dictionary<string, object> { ["name"] = new string('é', 200_000) });

        var value = InterventionCloudEvents.Encode(command);

        Assert.True(value.Length <= CommandSizeBudget.MaxValueBytes, $"{value.Length} bytes");
        Assert.EndsWith(CommandSizeBudget.Marker, Data(value).GetProperty("trigger").GetProperty("details").GetProperty("name").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_LongNumberLiteral_CutToAStringWithMarker()
    {
        var digits = new string('7', 950_000);
        var command = Command(new Dictionary<string, object> { ["value"] = JsonLiteral.TryCreate(digits)!.Value });

        var value = InterventionCloudEvents.Encode(command);

        Assert.True(value.Length <= CommandSizeBudget.MaxValueBytes);
        Assert.EndsWith(CommandSizeBudget.Marker, Data(value).GetProperty("trigger").GetProperty("details").GetProperty("value").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_WithinBudget_Unchanged()
    {
        var command = Command(new Dictionary<string, object> { ["note"] = new string('x', 100_000) });

        Assert.Equal(InterventionCloudEvents.EncodeWithSdk(command), InterventionCloudEvents.Encode(command));
    }

    [Fact]
    public void Cut_SurrogatePairAtTheCut_NeverSplit()
    {
        var text = "ab\U0001F600cd";

        Assert.Equal("ab" + CommandSizeBudget.Marker, CommandSizeBudget.Cut(text, 3));
    }

    [Fact]
    public void Fit_SameInput_SameBytes()
    {
        var command = Command(new Dictionary<string, object> { ["a"] = new string('a', 700_000), ["b"] = new string('b', 500_000) });

        Assert.Equal(InterventionCloudEvents.Encode(command), InterventionCloudEvents.Encode(command));
    }
}
