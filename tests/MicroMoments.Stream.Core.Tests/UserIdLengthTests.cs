using System.Text;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// A user id over <see cref="ParserLimits.MaxUserIdBytes"/> is dead-lettered at parse time: it is the key of every
/// command and repeated in it, and a 400,000-character id once made a command the broker refused.
/// </summary>
public sealed class UserIdLengthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly ClickEventParser _parser = new(new ParserLimits());

    private ParseResult Parse(string json, string? key = null) =>
        _parser.Parse(Encoding.UTF8.GetBytes(json), key, new RecordSource("clickstream", 0, 1, T0), T0.AddMinutes(1));

    private static string Id(int length) => new('u', length);

    public static TheoryData<string, string?> LongIds => new()
    {
        { $$"""{"type":"track","event":"Ping","userId":"{{Id(400_000)}}"}""", null },
        { $$"""{"type":"track","event":"Ping","anonymousId":"{{Id(513)}}"}""", null },
        { $$"""{"event":"feature_used","user_id":"{{Id(513)}}","feature_used":"x"}""", null },
        { $$"""{"type":"alias","userId":"u-1","previousId":"{{Id(513)}}"}""", null },
        { """{"type":"track","event":"Ping"}""", Id(513) },
        // 171 three-byte characters are 513 UTF-8 bytes, though only 171 chars.
        { $$"""{"type":"track","event":"Ping","userId":"{{new string('€', 171)}}"}""", null },
    };

    [Theory]
    [MemberData(nameof(LongIds))]
    public void Parse_UserIdOverLimit_RejectedUserIdTooLong(string json, string? key)
    {
        var result = Parse(json, key);

        Assert.Equal(RejectReasons.UserIdTooLong, result.Reason);
        Assert.Contains("the limit is 512", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UserIdAtLimit_Accepted()
    {
        var result = Parse($$"""{"type":"alias","userId":"{{Id(512)}}","previousId":"{{new string('€', 170)}}"}""");

        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void Parse_LongPreviousIdOnTrack_IgnoredAsBefore()
    {
        // previousId means nothing outside an alias, so it is not a reason to refuse the event.
        var result = Parse($$"""{"type":"track","event":"Ping","userId":"u-1","previousId":"{{Id(600)}}"}""");

        Assert.True(result.IsValid, result.Error);
    }
}
