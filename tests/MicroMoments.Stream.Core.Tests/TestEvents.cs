using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Builds inbound events as JSON and parses them through the real parser.</summary>
internal static class TestEvents
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly ClickEventParser Parser = new(new ParserLimits());
    private static long _offset;

    public static ClickEvent Track(string user, string name, DateTimeOffset at, object? properties = null, string? device = null, string? id = null) =>
        Parse(new
        {
            type = "track",
            @event = name,
            userId = user,
            messageId = id ?? Guid.NewGuid().ToString(),
            timestamp = at.ToString("O"),
            properties = properties ?? new { },
            context = new { device = new { type = device ?? "desktop" }, timezone = "Europe/Berlin" },
        });

    public static ClickEvent Screen(string user, string name, DateTimeOffset at) =>
        Parse(new { type = "screen", name, userId = user, messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O") });

    public static ClickEvent Parse(object body)
    {
        var result = Parser.Parse(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body)), null, Next(), DateTimeOffset.MaxValue.AddYears(-1));
        return result.Event ?? throw new InvalidOperationException(result.Error);
    }

    public static RecordSource Next() => new("clickstream", 0, Interlocked.Increment(ref _offset), T0);
}
