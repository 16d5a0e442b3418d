using System.Text.Json;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Inbound event JSON in the contract's Segment shape.</summary>
internal static class TestEvents
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    public static string Track(string user, string name, DateTimeOffset at, object? properties = null, string device = "desktop") =>
        JsonSerializer.Serialize(new
        {
            type = "track",
            @event = name,
            userId = user,
            messageId = Guid.NewGuid().ToString(),
            timestamp = at.ToString("O"),
            properties = properties ?? new { },
            context = new { device = new { type = device }, timezone = "Europe/Berlin" },
        });

    public static string Screen(string user, string name, DateTimeOffset at) =>
        JsonSerializer.Serialize(new { type = "screen", name, userId = user, messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O") });

    public static string Page(string user, string name, DateTimeOffset at) =>
        JsonSerializer.Serialize(new
        {
            type = "page", name, userId = user, messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O"),
            context = new { timezone = "Europe/Berlin" },
        });
}
