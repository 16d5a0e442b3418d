using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// Parses and validates one inbound record in either shape (Segment spec or flat export; docs/wire-formats.md), in one
/// forward pass of a <see cref="Utf8JsonReader"/>: no document is built, and only the values the event keeps
/// become strings. Where a name occurs twice in an object, the last occurrence counts.
/// </summary>
public sealed class ClickEventParser(ParserLimits limits)
{
    private const int MaxDepth = 32;
    private const int MaxCachedNames = 4096;

    /// <summary>Short texts other than ids (names, property names and values, devices): pooled, not copied per event.</summary>
    private static readonly Utf8StringPool Texts = new(maxStrings: 16_384, maxLength: 48);

    /// <summary>Event names seen so far and their normalised keys: a stream repeats a few hundred names.</summary>
    private readonly ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);

    public ParserLimits Limits { get; } = limits;

    /// <param name="value">The record value (UTF-8 JSON).</param>
    /// <param name="key">The record key, used as the user id when the body names none.</param>
    /// <param name="source">The record's position and timestamp: the timestamp stands in for a body without one.</param>
    /// <param name="now">The current time, to reject timestamps far in the future.</param>
    public ParseResult Parse(ReadOnlyMemory<byte> value, string? key, RecordSource source, DateTimeOffset now) =>
        Parse(value, key, default, source, now);

    /// <summary>As <see cref="Parse(ReadOnlyMemory{byte}, string?, RecordSource, DateTimeOffset)"/>, with the record key as
    /// UTF-8: decoded only when the body names no user.</summary>
    public ParseResult ParseWithUtf8Key(ReadOnlyMemory<byte> value, ReadOnlySpan<byte> key, RecordSource source, DateTimeOffset now) =>
        Parse(value, null, key, source, now);

    private ParseResult Parse(ReadOnlyMemory<byte> value, string? key, ReadOnlySpan<byte> keyUtf8, RecordSource source, DateTimeOffset now)
    {
        if (value.Length > Limits.MaxRecordBytes)
        {
            return ParseResult.Reject(RejectReasons.Oversized,
                $"record is {value.Length} bytes; the limit is {Limits.MaxRecordBytes}");
        }

        // Checked whole, before reading: a string the reader skips could otherwise hold invalid bytes unnoticed,
        // and the worker and simulate must refuse the same records.
        if (!Utf8.IsValid(value.Span))
        {
            return ParseResult.Reject(RejectReasons.MalformedJson, $"the record is not valid UTF-8 (byte {InvalidUtf8At(value.Span)})");
        }

        Fields f;
        try
        {
            var reader = new Utf8JsonReader(value.Span, new JsonReaderOptions { MaxDepth = MaxDepth });
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                var kind = KindName(reader.TokenType);
                reader.Skip();
                reader.Read(); // anything after the value is an error, as in any JSON document
                return ParseResult.Reject(RejectReasons.MalformedJson, $"expected a JSON object, got {kind}");
            }
            f = ReadRoot(ref reader);
            reader.Read();
        }
        catch (JsonException ex)
        {
            return ParseResult.Reject(RejectReasons.MalformedJson, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // A string that is not valid UTF-8.
            return ParseResult.Reject(RejectReasons.MalformedJson, ex.Message);
        }
        return Build(ref f, value.Span, key, keyUtf8, source, now);
    }

    private ParseResult Build(ref Fields f, ReadOnlySpan<byte> value, string? key, ReadOnlySpan<byte> keyUtf8, RecordSource source, DateTimeOffset now)
    {
        if (key is null && !keyUtf8.IsEmpty && f.UserId is null && f.UserIdSnake is null && f.AnonymousId is null && f.AnonymousIdSnake is null)
        {
            // Strict: a lenient decoder maps every invalid byte to U+FFFD, and so merges distinct keys into one user.
            if (!Utf8.IsValid(keyUtf8))
            {
                return ParseResult.Reject(RejectReasons.InvalidKey,
                    $"the body names no user and the record key is not valid UTF-8 (byte {InvalidUtf8At(keyUtf8)})");
            }
            key = Encoding.UTF8.GetString(keyUtf8);
        }
        var isSegment = f.HasType || f.HasUserId || f.HasAnonymousId || f.HasContext || f.HasProperties;

        var userId = f.UserId ?? f.UserIdSnake ?? f.AnonymousId ?? f.AnonymousIdSnake
            ?? (string.IsNullOrWhiteSpace(key) ? null : key);
        if (string.IsNullOrWhiteSpace(userId))
        {
            return ParseResult.Reject(RejectReasons.MissingUserId, "no userId, anonymousId, user_id or record key");
        }

        var type = f.Type?.ToLowerInvariant() ?? "track";
        if (type is not ("track" or "page" or "screen" or "identify" or "alias" or "group"))
        {
            return ParseResult.Reject(RejectReasons.InvalidEvent, $"unknown type '{type}'");
        }
        if (type == "alias" && string.IsNullOrWhiteSpace(f.PreviousId))
        {
            return ParseResult.Reject(RejectReasons.InvalidEvent, "an alias needs a non-empty 'previousId'");
        }

        // The id is the Kafka key of every command and is repeated in its subject and data: a 400,000-character id
        // made a 1.2 MB command that the broker refused. Checked before anything is kept under it.
        if ((TooLong(userId) ?? (type == "alias" ? TooLong(f.PreviousId) : null)) is { } length)
        {
            return ParseResult.Reject(RejectReasons.UserIdTooLong,
                $"a user id is {length} UTF-8 bytes; the limit is {Limits.MaxUserIdBytes}");
        }

        var properties = f.Properties;
        string? device = null, timezone = f.Timezone, locale = f.Locale, viewName = null;
        if (f.Context is { } ctx)
        {
            device = ctx.DeviceType;
            timezone = ctx.Timezone ?? timezone;
            locale = ctx.Locale ?? locale;
            viewName = ctx.ScreenName ?? ctx.PageName ?? ctx.PagePath;
        }

        if (!isSegment)
        {
            // Flat export shape: top-level scalars are properties; a few names map to the Segment fields.
            foreach (var (name, scalar, literal) in f.Flat ?? [])
            {
                (properties ??= new ScalarDictionary(PropertyNames.Comparer)).Set(name, scalar);
                if (literal)
                {
                    (f.Literals ??= new HashSet<string>(PropertyNames.Comparer)).Add(name);
                }
                else
                {
                    // A later string under a name that matches an earlier number's must not inherit its literal flag.
                    f.Literals?.Remove(name);
                }
            }
            if (f.FeatureUsed is { } feature)
            {
                (properties ??= new ScalarDictionary(PropertyNames.Comparer)).Set("feature", feature);
            }
        }
        device ??= f.Device;

        string eventName;
        if (type == "track")
        {
            eventName = f.Event ?? "";
            if (eventName.Length == 0)
            {
                return ParseResult.Reject(RejectReasons.InvalidEvent, "a track event needs a non-empty 'event'");
            }
        }
        else
        {
            eventName = type;
            if (type is "page" or "screen")
            {
                viewName = f.Name ?? (properties is not null && properties.TryGetValue("name", out var pn) ? pn : null) ?? viewName;
            }
        }

        DateTimeOffset timestamp;
        var ts = f.Timestamp;
        if (f.TimestampLength > 0)
        {
            timestamp = f.TimestampValue;
            if (timestamp - now > Limits.MaxFutureSkew || timestamp >= MaxTimestamp || timestamp < MinTimestamp)
            {
                ts = Encoding.UTF8.GetString(value.Slice(f.TimestampStart, f.TimestampLength)); // the text, for the message
            }
        }
        else if (ts is null)
        {
            timestamp = source.Timestamp;
        }
        else if (!DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture,
                     DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp))
        {
            return ParseResult.Reject(RejectReasons.InvalidTimestamp, $"'{ts}' is not an ISO-8601 timestamp");
        }
        if (timestamp < MinTimestamp || timestamp >= MaxTimestamp)
        {
            // Rule durations are added to event times: near year 9999 that overflows a DateTimeOffset.
            return ParseResult.Reject(RejectReasons.InvalidTimestamp,
                $"timestamp {ts ?? timestamp.ToString("O", CultureInfo.InvariantCulture)} is outside {MinTimestamp:yyyy-MM-dd} to {MaxTimestamp:yyyy-MM-dd}");
        }
        if (timestamp - now > Limits.MaxFutureSkew)
        {
            return ParseResult.Reject(RejectReasons.FutureTimestamp,
                $"timestamp {ts} is more than {Limits.MaxFutureSkew} ahead of {now:O}");
        }

        // A group call's traits are the group's, not the user's.
        var traits = f.TraitsIsObject && type != "group" ? f.Traits : f.Context?.Traits;
        var groupTraits = type == "group" && f.TraitsIsObject ? f.Traits : null;

        // Without a messageId, the record's content names it, never its position: the same event sent twice
        // upstream gets the same id (and is applied once), and simulate's ids do not depend on the file's name or lines.
        // A body without a time of its own takes the record's: then that time is part of its content, or two
        // real clicks without a timestamp would be one.
        var messageId = f.MessageId ?? f.MessageIdSnake
            ?? ContentId(userId, value, f.TimestampLength == 0 && ts is null ? timestamp.ToUnixTimeMilliseconds() : null);

        return ParseResult.Ok(new ClickEvent
        {
            MessageId = messageId,
            UserId = userId,
            Anonymous = f.UserId is null && f.UserIdSnake is null && (f.AnonymousId ?? f.AnonymousIdSnake) is not null,
            Type = type,
            Name = eventName,
            Key = KeyOf(eventName),
            Timestamp = timestamp.ToUniversalTime(),
            Properties = properties is { Count: > 0 } ? properties : ClickEvent.EmptyMap,
            Literals = properties is { Count: > 0 } ? f.Literals : null,
            Traits = traits is { Count: > 0 } ? traits : ClickEvent.EmptyMap,
            PreviousId = type == "alias" ? f.PreviousId : null,
            GroupId = type == "group" ? f.GroupId : null,
            GroupTraits = groupTraits is { Count: > 0 } ? groupTraits : ClickEvent.EmptyMap,
            Location = f.Context?.Location is { Count: > 0 } location ? location : ClickEvent.EmptyMap,
            Device = DeviceTypes.Normalize(device),
            Timezone = TimeZones.IsKnown(timezone) ? timezone : null,
            UnknownTimezone = timezone is not null && !TimeZones.IsKnown(timezone),
            Locale = locale,
            ViewName = viewName,
        });
    }

    /// <summary>The UTF-8 length of an id over <see cref="ParserLimits.MaxUserIdBytes"/>, else null.</summary>
    private int? TooLong(string? id)
    {
        // A char is at most 3 UTF-8 bytes (a surrogate pair is 4 for 2), so short ids need no count.
        if (id is null || id.Length * 3 <= Limits.MaxUserIdBytes)
        {
            return null;
        }
        var bytes = Encoding.UTF8.GetByteCount(id);
        return bytes > Limits.MaxUserIdBytes ? bytes : null;
    }

    /// <summary>
    /// The id of a record without a messageId: "fp-" and the first 128 bits of SHA-256 over its user id (the record
    /// key, by convention) and its value bytes. The user id rather than the raw key: simulate reads no keys and must
    /// give the worker's ids. <paramref name="recordTime"/>: the record's timestamp, when the body has none.
    /// </summary>
    internal static string ContentId(string userId, ReadOnlySpan<byte> value, long? recordTime)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var idLength = Encoding.UTF8.GetMaxByteCount(userId.Length);
        var id = idLength <= 512 ? stackalloc byte[idLength] : new byte[idLength];
        sha.AppendData(id[..Encoding.UTF8.GetBytes(userId, id)]);
        sha.AppendData([0]); // no user id and value can run into another's
        sha.AppendData(value);
        if (recordTime is { } t)
        {
            Span<byte> time = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(time, t);
            sha.AppendData(time);
        }
        Span<byte> hash = stackalloc byte[32];
        sha.GetHashAndReset(hash);
        return "fp-" + Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>Event times accepted: any rule duration added to one stays a valid <see cref="DateTimeOffset"/>.</summary>
    public static readonly DateTimeOffset MinTimestamp = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset MaxTimestamp = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The offset of the first byte that is not valid UTF-8 (only asked after a failed check).</summary>
    private static int InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        while (at < bytes.Length && System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out var n) == System.Buffers.OperationStatus.Done)
        {
            at += n;
        }
        return at;
    }

    private string KeyOf(string name)
    {
        if (_keys.TryGetValue(name, out var key))
        {
            return key;
        }
        key = EventNames.Normalize(name);
        if (_keys.Count < MaxCachedNames)
        {
            _keys.TryAdd(name, key);
        }
        return key;
    }

    /// <summary>What the top level held; the last occurrence of each name wins.</summary>
    private struct Fields
    {
        public bool HasType, HasUserId, HasAnonymousId, HasContext, HasProperties, TraitsIsObject;
        public string? Type, UserId, UserIdSnake, AnonymousId, AnonymousIdSnake, MessageId, MessageIdSnake, Timestamp, Event, Name,
            Device, Timezone, Locale, FeatureUsed, PreviousId, GroupId;
        public ScalarDictionary? Properties, Traits;

        /// <summary>Property names whose value was a number or boolean.</summary>
        public HashSet<string>? Literals;

        /// <summary>A timestamp read straight from the bytes: its value and where its text is (length 0: not so read).</summary>
        public DateTimeOffset TimestampValue;
        public int TimestampStart, TimestampLength;
        public Context? Context;

        /// <summary>Top-level scalars under other names: the properties of a flat record.</summary>
        public List<(string Name, string Value, bool Literal)>? Flat;
    }

    /// <summary>What a <c>context</c> object held.</summary>
    private sealed class Context
    {
        public string? DeviceType, Timezone, Locale, ScreenName, PageName, PagePath;
        public ScalarDictionary? Traits, Location;
    }

    private static Fields ReadRoot(ref Utf8JsonReader r)
    {
        var f = default(Fields);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("type"u8))
            {
                f.HasType = true;
                f.Type = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("event"u8))
            {
                f.Event = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("userId"u8))
            {
                f.HasUserId = true;
                f.UserId = Scalar(ref r);
            }
            else if (r.ValueTextEquals("messageId"u8))
            {
                f.MessageId = Scalar(ref r);
            }
            else if (r.ValueTextEquals("timestamp"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped && IsoTimestamp.TryParse(r.ValueSpan, out f.TimestampValue))
                {
                    (f.Timestamp, f.TimestampStart, f.TimestampLength) = (null, (int)r.TokenStartIndex + 1, r.ValueSpan.Length);
                }
                else
                {
                    (f.Timestamp, f.TimestampLength) = (CurrentScalar(ref r), 0);
                }
            }
            else if (r.ValueTextEquals("properties"u8))
            {
                f.HasProperties = true;
                f.Properties = ScalarMap(ref r, PropertyNames.Comparer, ref f.Literals);
            }
            else if (r.ValueTextEquals("context"u8))
            {
                f.HasContext = true;
                f.Context = ReadContext(ref r);
            }
            else if (r.ValueTextEquals("name"u8))
            {
                f.Name = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("anonymousId"u8))
            {
                f.HasAnonymousId = true;
                f.AnonymousId = Scalar(ref r);
            }
            else if (r.ValueTextEquals("traits"u8))
            {
                HashSet<string>? none = null;
                f.Traits = ScalarMap(ref r, StringComparer.Ordinal, ref none);
                f.TraitsIsObject = f.Traits is not null;
            }
            else if (r.ValueTextEquals("user_id"u8))
            {
                f.UserIdSnake = Scalar(ref r);
            }
            else if (r.ValueTextEquals("anonymous_id"u8))
            {
                f.AnonymousIdSnake = Scalar(ref r);
            }
            else if (r.ValueTextEquals("message_id"u8))
            {
                f.MessageIdSnake = Scalar(ref r);
            }
            else if (r.ValueTextEquals("device"u8))
            {
                f.Device = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("timezone"u8))
            {
                f.Timezone = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("locale"u8))
            {
                f.Locale = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("feature_used"u8))
            {
                f.FeatureUsed = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("previousId"u8))
            {
                f.PreviousId = Scalar(ref r);
            }
            else if (r.ValueTextEquals("groupId"u8))
            {
                f.GroupId = Scalar(ref r);
            }
            else
            {
                var name = Texts.Get(ref r);
                if (Scalar(ref r, Texts) is { } scalar)
                {
                    (f.Flat ??= []).Add((name, scalar, IsLiteral(r.TokenType)));
                }
            }
        }
        return f;
    }

    private static Context? ReadContext(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return null;
        }
        var c = new Context();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("device"u8))
            {
                (c.DeviceType, _) = Named(ref r, "type"u8, default);
            }
            else if (r.ValueTextEquals("timezone"u8))
            {
                c.Timezone = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("locale"u8))
            {
                c.Locale = Scalar(ref r, Texts);
            }
            else if (r.ValueTextEquals("screen"u8))
            {
                (c.ScreenName, _) = Named(ref r, "name"u8, default);
            }
            else if (r.ValueTextEquals("page"u8))
            {
                (c.PageName, c.PagePath) = Named(ref r, "name"u8, "path"u8);
            }
            else if (r.ValueTextEquals("traits"u8))
            {
                c.Traits = ScalarMap(ref r);
            }
            else if (r.ValueTextEquals("location"u8))
            {
                c.Location = LocationMap(ref r);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
        return c;
    }

    /// <summary>The next value's scalar members <paramref name="a"/> and <paramref name="b"/>, when the value is an object.</summary>
    private static (string? A, string? B) Named(ref Utf8JsonReader r, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return (null, null);
        }
        string? va = null, vb = null;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals(a))
            {
                va = Scalar(ref r, Texts);
            }
            else if (!b.IsEmpty && r.ValueTextEquals(b))
            {
                vb = Scalar(ref r, Texts);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
        return (va, vb);
    }

    private static ScalarDictionary? ScalarMap(ref Utf8JsonReader r)
    {
        HashSet<string>? none = null;
        return ScalarMap(ref r, StringComparer.Ordinal, ref none);
    }

    /// <summary>
    /// The next value's scalar members as strings, or null when the value is not an object; the names of those that
    /// were numbers or booleans go to <paramref name="literals"/> (only when <paramref name="comparer"/> is
    /// <see cref="PropertyNames.Comparer"/>: only properties keep their types).
    /// </summary>
    private static ScalarDictionary? ScalarMap(ref Utf8JsonReader r, IEqualityComparer<string> comparer, ref HashSet<string>? literals)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return null;
        }
        var typed = ReferenceEquals(comparer, PropertyNames.Comparer);
        var map = new ScalarDictionary(comparer);
        literals?.Clear(); // the last occurrence of the object counts
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = Texts.Get(ref r);
            if (Scalar(ref r, Texts) is { } scalar)
            {
                map.Set(name, scalar);
                if (!typed)
                {
                    continue;
                }
                if (IsLiteral(r.TokenType))
                {
                    (literals ??= new HashSet<string>(PropertyNames.Comparer)).Add(name);
                }
                else
                {
                    literals?.Remove(name); // the last occurrence of a name counts
                }
            }
        }
        return map;
    }

    private static bool IsLiteral(JsonTokenType token) => token is JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False;

    /// <summary>The location fields <c>user.location.*</c> offers; other members are skipped (the state keeps only these).</summary>
    private static ScalarDictionary? LocationMap(ref Utf8JsonReader r)
    {
        var map = ScalarMap(ref r);
        map?.RemoveWhere(name => name is not ("city" or "country" or "region" or "latitude" or "longitude"));
        return map;
    }

    /// <summary>
    /// Reads the next value: a non-empty string, a number as written, <c>true</c> or <c>false</c>; null for
    /// anything else (an empty string, null, an object or an array, which is skipped).
    /// </summary>
    private static string? Scalar(ref Utf8JsonReader r, Utf8StringPool? pool = null)
    {
        r.Read();
        return CurrentScalar(ref r, pool);
    }

    private static string? CurrentScalar(ref Utf8JsonReader r, Utf8StringPool? pool = null)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.String:
                return r.ValueSpan.IsEmpty ? null : pool is null ? r.GetString() : pool.Get(ref r);
            case JsonTokenType.Number:
                return Encoding.UTF8.GetString(r.ValueSpan);
            case JsonTokenType.True:
                return "true";
            case JsonTokenType.False:
                return "false";
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                r.Skip();
                return null;
            default:
                return null;
        }
    }

    private static string KindName(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => nameof(JsonValueKind.Array),
        JsonTokenType.String => nameof(JsonValueKind.String),
        JsonTokenType.Number => nameof(JsonValueKind.Number),
        JsonTokenType.True => nameof(JsonValueKind.True),
        JsonTokenType.False => nameof(JsonValueKind.False),
        JsonTokenType.Null => nameof(JsonValueKind.Null),
        _ => nameof(JsonValueKind.Undefined),
    };
}

/// <summary>Limits applied to inbound records before they reach the rules.</summary>
public sealed record ParserLimits
{
    public const int DefaultMaxRecordBytes = 1024 * 1024;

    public int MaxRecordBytes { get; init; } = DefaultMaxRecordBytes;

    /// <summary>
    /// The longest user id (and alias <c>previousId</c>) in UTF-8 bytes; a longer one is dead-lettered
    /// <see cref="RejectReasons.UserIdTooLong"/>, so a command (which carries the id three times) stays within its budget.
    /// </summary>
    public const int DefaultMaxUserIdBytes = 512;

    public int MaxUserIdBytes { get; init; } = DefaultMaxUserIdBytes;
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);
}
