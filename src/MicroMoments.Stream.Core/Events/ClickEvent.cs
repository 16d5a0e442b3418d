namespace MicroMoments.Stream.Core.Events;

/// <summary>One inbound clickstream event, normalised from either inbound shape (docs/wire-formats.md).</summary>
public sealed record ClickEvent
{
    public required string MessageId { get; init; }
    public required string UserId { get; init; }

    /// <summary>
    /// <see cref="UserId"/> is the body's <c>anonymousId</c> (no <c>userId</c> or <c>user_id</c>, no record key alone): a
    /// device before sign-up. Only a state never seen otherwise can be merged away by an <c>alias</c>.
    /// </summary>
    public bool Anonymous { get; init; }

    /// <summary>Segment call type: track, page, screen, identify, alias or group.</summary>
    public required string Type { get; init; }

    /// <summary>The event name as sent (for track) or the view type (page/screen/identify).</summary>
    public required string Name { get; init; }

    /// <summary><see cref="Name"/> normalised with <see cref="EventNames.Normalize"/>.</summary>
    public required string Key { get; init; }

    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Scalar properties, keyed with <see cref="PropertyNames.Comparer"/>: <c>cart_id</c> finds <c>cartId</c>.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = EmptyMap;

    /// <summary>The properties whose JSON value was a number or boolean (null: none): they keep that type in trigger details.</summary>
    public IReadOnlySet<string>? Literals { get; init; }
    public IReadOnlyDictionary<string, string> Traits { get; init; } = EmptyMap;
    public string? Device { get; init; }
    /// <summary>A zone of the embedded tz database, or null (UTC): an unknown zone is dropped here and flagged.</summary>
    public string? Timezone { get; init; }

    /// <summary>The event named a time zone the database does not know (treated as none, and counted by the caller).</summary>
    public bool UnknownTimezone { get; init; }
    public string? Locale { get; init; }

    /// <summary>For page and screen views: the page or screen name (falls back to the page path).</summary>
    public string? ViewName { get; init; }

    /// <summary>For an alias: the id the user had before (usually the anonymous id); its state merges into <see cref="UserId"/>'s.</summary>
    public string? PreviousId { get; init; }

    /// <summary>For a group call: the account or company id, read as <c>user.group.id</c>.</summary>
    public string? GroupId { get; init; }

    /// <summary>For a group call: the group's traits, read as <c>user.group.*</c>.</summary>
    public IReadOnlyDictionary<string, string> GroupTraits { get; init; } = EmptyMap;

    /// <summary><c>context.location</c>'s scalars (city, country, region, latitude, longitude), read as <c>user.location.*</c>.</summary>
    public IReadOnlyDictionary<string, string> Location { get; init; } = EmptyMap;

    public bool IsView => Type is "page" or "screen";

    public string? Property(string name) => Properties.TryGetValue(name, out var v) ? v : null;

    /// <summary>A property as trigger details keep it: a <see cref="JsonLiteral"/> for a number or boolean, else the string.</summary>
    /// <remarks>The text is checked even when flagged: a literal is written raw, so unchecked text could inject JSON.</remarks>
    public object PropertyValue(string name, string value) =>
        Literals is not null && Literals.Contains(name) && JsonLiteral.TryCreate(value) is { } literal ? literal : value;

    internal static readonly IReadOnlyDictionary<string, string> EmptyMap =
        new Dictionary<string, string>(0, PropertyNames.Comparer);
}
