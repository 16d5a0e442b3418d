using System.Text;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Tests;

public sealed class ClickEventParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 20, 0, TimeSpan.Zero);
    private static readonly RecordSource Source = new("clickstream", 3, 42, Now.AddSeconds(-1));
    private readonly ClickEventParser _parser = new(new ParserLimits());

    private ParseResult Parse(string json, string? key = null) => _parser.Parse(Encoding.UTF8.GetBytes(json), key, Source, Now);

    [Fact]
    public void Parse_SegmentTrack_MapsAllFields()
    {
        var r = Parse("""
            {"type":"track","event":"Task Failed","userId":"u-123","anonymousId":null,"messageId":"m-1",
             "timestamp":"2026-11-24T10:15:30.123Z","properties":{"task":"notifications-setup","durationMs":5400},
             "context":{"device":{"type":"mobile"},"timezone":"Europe/Berlin","locale":"de-DE","page":{"path":"/welcome"}},
             "traits":{"name":"Ada","plan":"trial"}}
            """);

        var e = Assert.IsType<ClickEvent>(r.Event);
        Assert.Equal(("u-123", "m-1", "task failed", "mobile", "Europe/Berlin"), (e.UserId, e.MessageId, e.Key, e.Device, e.Timezone));
        Assert.Equal("notifications-setup", e.Property("task"));
        Assert.Equal("5400", e.Property("durationMs"));
        Assert.Equal("Ada", e.Traits["name"]);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 15, 30, 123, TimeSpan.Zero), e.Timestamp);
    }

    [Fact]
    public void Parse_FlatShape_MapsUserFeatureAndDevice()
    {
        var r = Parse("""{"event":"feature_used","user_id":"u-1","timestamp":"2026-11-24T10:00:00Z","feature_used":"dashboard","device":"desktop"}""");

        var e = Assert.IsType<ClickEvent>(r.Event);
        Assert.Equal(("u-1", "feature used", "dashboard", "desktop"), (e.UserId, e.Key, e.Property("feature"), e.Device));
    }

    [Fact]
    public void Parse_ScreenView_TakesNameAsView()
    {
        var e = Parse("""{"type":"screen","name":"Welcome","userId":"u-1","timestamp":"2026-11-24T10:00:00Z"}""").Event!;

        Assert.True(e.IsView);
        Assert.Equal("Welcome", e.ViewName);
    }

    [Fact]
    public void Parse_NoMessageIdNoTimestamp_DerivesIdFromContentAndRecordTimeNotPosition()
    {
        const string body = """{"type":"track","event":"Clicked","userId":"u-1"}""";
        var e = Parse(body).Event!;
        var elsewhere = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(body), null, Source with { Partition = 7, Offset = 9 }, Now).Event!;
        var later = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(body), null, Source with { Timestamp = Source.Timestamp.AddSeconds(1) }, Now).Event!;

        Assert.StartsWith("fp-", e.MessageId, StringComparison.Ordinal);
        Assert.Equal(e.MessageId, elsewhere.MessageId);
        Assert.NotEqual(e.MessageId, later.MessageId);
        Assert.Equal(Source.Timestamp, e.Timestamp);
    }

    [Theory]
    [InlineData("{not json", RejectReasons.MalformedJson)]
    [InlineData("[1,2]", RejectReasons.MalformedJson)]
    [InlineData("""{"type":"track","event":"X"}""", RejectReasons.MissingUserId)]
    [InlineData("""{"type":"track","event":"X","userId":"u","timestamp":"2027-01-01T00:00:00Z"}""", RejectReasons.FutureTimestamp)]
    [InlineData("""{"type":"track","event":"X","userId":"u","timestamp":"yesterday"}""", RejectReasons.InvalidTimestamp)]
    [InlineData("""{"type":"track","userId":"u"}""", RejectReasons.InvalidEvent)]
    [InlineData("""{"type":"alias","userId":"u"}""", RejectReasons.InvalidEvent)]
    public void Parse_BadRecord_RejectsWithReason(string json, string reason)
    {
        var r = Parse(json);

        Assert.False(r.IsValid);
        Assert.Equal(reason, r.Reason);
        Assert.False(string.IsNullOrEmpty(r.Error));
    }

    [Fact]
    public void Parse_OversizedRecord_RejectsBeforeParsing()
    {
        var r = _parser.Parse(new byte[ParserLimits.DefaultMaxRecordBytes + 1], "u", Source, Now);

        Assert.Equal(RejectReasons.Oversized, r.Reason);
    }

    [Fact]
    public void Parse_NoUserInBody_UsesRecordKey()
    {
        var e = Parse("""{"type":"track","event":"X"}""", key: "u-key").Event!;

        Assert.Equal("u-key", e.UserId);
    }

    [Theory]
    [InlineData("task_failed")]
    [InlineData("Task Failed")]
    [InlineData("TASK-FAILED")]
    [InlineData("  task   failed ")]
    public void Normalize_SnakeAndTitleCase_AreEqual(string name) => Assert.Equal("task failed", EventNames.Normalize(name));

    [Fact]
    public void Parse_NameRepeated_LastOccurrenceCounts()
    {
        var r = Parse("""{"userId":"u-1","event":"First","event":"Second","properties":{"a":"1","a":{"x":1}},"context":{"device":{"type":"tv"}},"context":{"timezone":"UTC"}}""");

        var e = Assert.IsType<ClickEvent>(r.Event);
        Assert.Equal(("second", "1", null, "UTC"), (e.Key, e.Property("a"), e.Device, e.Timezone));
    }

    [Fact]
    public void Parse_StringNotUtf8_RejectsAsMalformed()
    {
        byte[] json = [.. "{\"userId\":\""u8, 0xFF, 0xFE, .. "\",\"event\":\"E\"}"u8];

        var r = _parser.Parse(json, null, Source, Now);

        Assert.Equal(RejectReasons.MalformedJson, r.Reason);
    }

    [Fact]
    public void Parse_TrailingContent_RejectsAsMalformed()
    {
        var r = Parse("""{"userId":"u-1","event":"E"} {"userId":"u-2"}""");

        Assert.Equal(RejectReasons.MalformedJson, r.Reason);
    }

    [Theory]
    [InlineData("2026-11-24T10:15:30Z")]
    [InlineData("2026-11-24T10:15:30.1Z")]
    [InlineData("2026-11-24T10:15:30.123Z")]
    [InlineData("2026-11-24T10:15:30.1234567Z")]
    [InlineData("2026-11-24T10:15:30.12345678Z")]
    [InlineData("2026-11-24T10:15:30+02:00")]
    [InlineData("2026-11-24T00:15:30.5-05:30")]
    [InlineData("2024-02-29T23:59:59.999+14:00")]
    [InlineData("0001-01-01T00:00:00+01:00")]
    [InlineData("9999-12-31T23:59:59.9999999-01:00")]
    [InlineData("2026-02-30T10:15:30Z")]
    [InlineData("2026-11-24T24:00:00Z")]
    [InlineData("2026-11-24T10:60:00Z")]
    [InlineData("2026-11-24T10:15:60Z")]
    [InlineData("2026-11-24T10:15:30z")]
    [InlineData("2026-11-24 10:15:30Z")]
    [InlineData("2026-11-24T10:15:30")]
    [InlineData("2026-11-24T10:15:30.Z")]
    [InlineData("2026-11-24T10:15:30+2:00")]
    [InlineData("2026-11-24T10:15:30+15:00")]
    [InlineData("20261124T101530Z")]
    public void IsoTimestamp_WhereItReadsAValue_AgreesWithTryParse(string text)
    {
        var fast = IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out var value);
        var slow = DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var expected);

        if (fast)
        {
            Assert.True(slow);
            Assert.Equal((expected.UtcTicks, TimeSpan.Zero), (value.UtcTicks, value.Offset));
        }
    }

    [Fact]
    public void Parse_FutureTimestamp_QuotesTheTextAsSent()
    {
        var r = Parse("""{"userId":"u-1","event":"E","timestamp":"2026-11-24T11:00:00.000+00:00"}""");

        Assert.Equal(RejectReasons.FutureTimestamp, r.Reason);
        Assert.StartsWith("timestamp 2026-11-24T11:00:00.000+00:00 is more than", r.Error);
    }
}
