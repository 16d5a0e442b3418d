namespace MicroMoments.Stream.Core.Events;

/// <summary>One inbound clickstream event, normalised from either contract shape.</summary>
public sealed record ClickEvent
{
    public required string MessageId { get; init; }
    public required string UserId { get; init; }

    /// <summary>Segment call type: track, page, screen or identify.</summary>
    public required string Type { get; init; }

    /// <summary>The event name as sent (for track) or the view type (page/screen/identify).</summary>
    public required string Name { get; init; }

    /// <summary><see cref="Name"/> normalised with <see cref="EventNames.Normalize"/>.</summary>
    public required string Key { get; init; }

    public required DateTimeOffset Timestamp { get; init; }
    public IReadOnlyDictionary<string, string> Properties { get; init; } = EmptyMap;
    public IReadOnlyDictionary<string, string> Traits { get; init; } = EmptyMap;
    public string? Device { get; init; }
    /// <summary>A zone of the embedded tz database, or null (UTC): an unknown zone is dropped here and flagged.</summary>
    public string? Timezone { get; init; }

    /// <summary>The event named a time zone the database does not know (treated as none, and counted by the caller).</summary>
    public bool UnknownTimezone { get; init; }
    public string? Locale { get; init; }

    /// <summary>For page and screen views: the page or screen name (falls back to the page path).</summary>
    public string? ViewName { get; init; }

    public bool IsView => Type is "page" or "screen";

    public string? Property(string name) => Properties.TryGetValue(name, out var v) ? v : null;

    internal static readonly IReadOnlyDictionary<string, string> EmptyMap =
        new Dictionary<string, string>(0, StringComparer.Ordinal);
}
