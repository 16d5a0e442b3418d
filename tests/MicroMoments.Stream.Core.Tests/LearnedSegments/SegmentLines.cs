using System.Globalization;
using System.Text.Json;

namespace MicroMoments.Stream.Core.Tests.LearnedSegments;

/// <summary>NDJSON lines for the learned-segments tests: one track event each, with a message id of its own.</summary>
internal static class SegmentLines
{
    public static string Track(string user, string name, DateTimeOffset at, object? properties = null) =>
        JsonSerializer.Serialize(new
        {
            type = "track",
            @event = name,
            userId = user,
            messageId = $"{user}-{name}-{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}",
            timestamp = at.ToString("O", CultureInfo.InvariantCulture),
            properties = properties ?? new { },
        });
}
