using System.Globalization;
using System.Text.Json;

namespace MicroMoments.Stream.Core.Events;

/// <summary>Parses and validates one inbound record in either contract shape (Segment spec or flat export).</summary>
public sealed class ClickEventParser(ParserLimits limits)
{
    private static readonly HashSet<string> FlatReserved = new(StringComparer.Ordinal)
    {
        "event", "type", "user_id", "userId", "anonymous_id", "anonymousId", "message_id", "messageId",
        "timestamp", "device", "timezone", "locale", "feature_used", "name", "properties", "traits", "context",
    };

    public ParserLimits Limits { get; } = limits;

    /// <param name="value">The record value (UTF-8 JSON).</param>
    /// <param name="key">The record key, used as the user id when the body names none.</param>
    /// <param name="source">The record's position, for derived message ids and the fallback timestamp.</param>
    /// <param name="now">The current time, to reject timestamps far in the future.</param>
    public ParseResult Parse(ReadOnlyMemory<byte> value, string? key, RecordSource source, DateTimeOffset now)
    {
        if (value.Length > Limits.MaxRecordBytes)
        {
            return ParseResult.Reject(RejectReasons.Oversized,
                $"record is {value.Length} bytes; the limit is {Limits.MaxRecordBytes}");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(value, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            return ParseResult.Reject(RejectReasons.MalformedJson, ex.Message);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ParseResult.Reject(RejectReasons.MalformedJson, $"expected a JSON object, got {root.ValueKind}");
            }
            return ParseObject(root, key, source, now);
        }
    }

    private ParseResult ParseObject(JsonElement root, string? key, RecordSource source, DateTimeOffset now)
    {
        var isSegment = root.TryGetProperty("type", out _) || root.TryGetProperty("userId", out _)
            || root.TryGetProperty("anonymousId", out _) || root.TryGetProperty("context", out _)
            || root.TryGetProperty("properties", out _);

        var userId = Str(root, "userId") ?? Str(root, "user_id") ?? Str(root, "anonymousId") ?? Str(root, "anonymous_id")
            ?? (string.IsNullOrWhiteSpace(key) ? null : key);
        if (string.IsNullOrWhiteSpace(userId))
        {
            return ParseResult.Reject(RejectReasons.MissingUserId, "no userId, anonymousId, user_id or record key");
        }

        var type = (Str(root, "type") ?? "track").ToLowerInvariant();
        if (type is not ("track" or "page" or "screen" or "identify"))
        {
            return ParseResult.Reject(RejectReasons.InvalidEvent, $"unknown type '{type}'");
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
        {
            CopyScalars(props, properties, null);
        }

        string? device = null, timezone = Str(root, "timezone"), locale = Str(root, "locale"), viewName = null;
        if (root.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Object)
        {
            device = Path(ctx, "device", "type");
            timezone = Str(ctx, "timezone") ?? timezone;
            locale = Str(ctx, "locale") ?? locale;
            viewName = Path(ctx, "screen", "name") ?? Path(ctx, "page", "name") ?? Path(ctx, "page", "path");
        }

        if (!isSegment)
        {
            // Flat export shape: top-level scalars are properties; a few names map to the Segment fields.
            CopyScalars(root, properties, FlatReserved);
            if (Str(root, "feature_used") is { } feature)
            {
                properties["feature"] = feature;
            }
        }
        device ??= Str(root, "device");

        string name;
        if (type == "track")
        {
            name = Str(root, "event") ?? "";
            if (name.Length == 0)
            {
                return ParseResult.Reject(RejectReasons.InvalidEvent, "a track event needs a non-empty 'event'");
            }
        }
        else
        {
            name = type;
            if (type != "identify")
            {
                viewName = Str(root, "name") ?? (properties.TryGetValue("name", out var pn) ? pn : null) ?? viewName;
            }
        }

        DateTimeOffset timestamp;
        var ts = Str(root, "timestamp");
        if (ts is null)
        {
            timestamp = source.Timestamp;
        }
        else if (!DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture,
                     DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp))
        {
            return ParseResult.Reject(RejectReasons.InvalidTimestamp, $"'{ts}' is not an ISO-8601 timestamp");
        }
        if (timestamp - now > Limits.MaxFutureSkew)
        {
            return ParseResult.Reject(RejectReasons.FutureTimestamp,
                $"timestamp {ts} is more than {Limits.MaxFutureSkew} ahead of {now:O}");
        }

        var traits = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("traits", out var tr) && tr.ValueKind == JsonValueKind.Object)
        {
            CopyScalars(tr, traits, null);
        }
        else if (root.TryGetProperty("context", out var c2) && c2.ValueKind == JsonValueKind.Object
                 && c2.TryGetProperty("traits", out var ct) && ct.ValueKind == JsonValueKind.Object)
        {
            CopyScalars(ct, traits, null);
        }

        var messageId = Str(root, "messageId") ?? Str(root, "message_id")
            ?? $"{source.Topic}/{source.Partition}/{source.Offset}";

        return ParseResult.Ok(new ClickEvent
        {
            MessageId = messageId,
            UserId = userId,
            Type = type,
            Name = name,
            Key = EventNames.Normalize(name),
            Timestamp = timestamp.ToUniversalTime(),
            Properties = properties.Count == 0 ? ClickEvent.EmptyMap : properties,
            Traits = traits.Count == 0 ? ClickEvent.EmptyMap : traits,
            Device = device?.ToLowerInvariant(),
            Timezone = timezone,
            Locale = locale,
            ViewName = viewName,
        });
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) ? Scalar(v) : null;

    private static string? Path(JsonElement obj, string a, string b) =>
        obj.TryGetProperty(a, out var o) && o.ValueKind == JsonValueKind.Object ? Str(o, b) : null;

    private static string? Scalar(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString() is { Length: > 0 } s ? s : null,
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    private static void CopyScalars(JsonElement obj, Dictionary<string, string> into, HashSet<string>? skip)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (skip is not null && skip.Contains(p.Name))
            {
                continue;
            }
            if (Scalar(p.Value) is { } s)
            {
                into[p.Name] = s;
            }
        }
    }
}

/// <summary>Limits applied to inbound records before they reach the rules.</summary>
public sealed record ParserLimits
{
    public const int DefaultMaxRecordBytes = 1024 * 1024;

    public int MaxRecordBytes { get; init; } = DefaultMaxRecordBytes;
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);
}
