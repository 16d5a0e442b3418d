using System.Buffers;
using System.Net.Mime;
using System.Text.Json;
using System.Text.Json.Serialization;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>Encodes intervention commands as CloudEvents 1.0 structured-mode JSON (docs/wire-formats.md, "Intervention commands").</summary>
public static class InterventionCloudEvents
{
    public const string EventType = "io.micromoments.intervention.v1";
    public const string ContentType = "application/cloudevents+json";
    public static readonly Uri Source = new("micromoments-stream", UriKind.Relative);

    public static readonly JsonSerializerOptions DataOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new UtcMillisecondsConverter() },
    };

    private static readonly JsonEventFormatter<InterventionCommand> Formatter = new(DataOptions, default);

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>
    /// The structured-mode CloudEvent, within <see cref="CommandSizeBudget.MaxValueBytes"/> unless the command's ids alone
    /// exceed it: text copied from events is cut to fit (<see cref="CommandSizeBudget.Fit"/>).
    /// </summary>
    public static byte[] Encode(InterventionCommand command)
    {
        var value = EncodeWhole(command);
        return value.Length <= CommandSizeBudget.MaxValueBytes
            ? value
            : EncodeWhole(CommandSizeBudget.Fit(command, c => EncodeWhole(c).Length));
    }

    /// <summary>
    /// Every field as it is, written directly: the same bytes as the SDK's <see cref="JsonEventFormatter"/>
    /// (which is the fallback for trigger details of other types), at a tenth of its time and allocations.
    /// </summary>
    private static byte[] EncodeWhole(InterventionCommand command)
    {
        if (!TriggerDetailsJson.Writable(command.Trigger.Details))
        {
            return EncodeWithSdk(command);
        }
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(2048);
        buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("specversion"u8, "1.0"u8);
            w.WriteString("id"u8, command.InterventionId);
            w.WriteString("type"u8, EventType);
            w.WriteString("source"u8, SourceText);
            w.WriteString("time"u8, CloudEventTime(Truncate(command.DecidedAt)));
            w.WriteString("subject"u8, command.UserId);
            w.WriteString("datacontenttype"u8, MediaTypeNames.Application.Json);
            w.WriteStartObject("data"u8);
            w.WriteString("interventionId"u8, command.InterventionId);
            w.WriteString("userId"u8, command.UserId);
            w.WriteString("ruleId"u8, command.RuleId);
            w.WriteString("ruleVersion"u8, command.RuleVersion);
            w.WriteString("moment"u8, command.Moment);
            w.WriteString("channel"u8, command.Channel);
            w.WriteNumber("priority"u8, command.Priority);
            w.WriteStartObject("message"u8);
            w.WriteString("title"u8, command.Message.Title);
            w.WriteString("body"u8, command.Message.Body);
            if (command.Message.Action is { } action)
            {
                w.WriteStartObject("action"u8);
                w.WriteString("label"u8, action.Label);
                w.WriteString("url"u8, action.Url);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("action"u8);
            }
            w.WriteEndObject();
            w.WriteString("variant"u8, command.Variant);
            w.WriteString("experiment"u8, command.Experiment);
            w.WriteString("deliverAfter"u8, UtcMilliseconds(command.DeliverAfter));
            w.WriteString("expiresAt"u8, UtcMilliseconds(command.ExpiresAt));
            TriggerDetailsJson.WriteTrigger(w, command.Trigger);
            w.WriteStartObject("user"u8);
            w.WriteString("lifecycleStage"u8, command.User.LifecycleStage);
            w.WriteString("archetype"u8, command.User.Archetype);
            w.WriteString("device"u8, command.User.Device);
            w.WriteString("timezone"u8, command.User.Timezone);
            w.WriteString("segment"u8, command.User.Segment);
            w.WriteEndObject();
            w.WriteString("intent"u8, command.Intent);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    internal static readonly string SourceText = Source.ToString();

    /// <summary>The CloudEvent <c>time</c> of a decision made at <paramref name="decidedAt"/>.</summary>
    internal static string TimeText(DateTimeOffset decidedAt) => CloudEventTime(Truncate(decidedAt));

    /// <summary>The SDK's encoding, which <see cref="Encode"/> matches byte for byte.</summary>
    internal static byte[] EncodeWithSdk(InterventionCommand command)
    {
        var ce = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = command.InterventionId,
            Type = EventType,
            Source = Source,
            Time = Truncate(command.DecidedAt),
            Subject = command.UserId,
            DataContentType = MediaTypeNames.Application.Json,
            Data = command,
        };
        return Formatter.EncodeStructuredModeMessage(ce, out _).ToArray();
    }

    public static InterventionCommand Decode(ReadOnlyMemory<byte> value)
    {
        var ce = Formatter.DecodeStructuredModeMessage(value, new ContentType(ContentType), null);
        return ((InterventionCommand)ce.Data!) with { DecidedAt = ce.Time ?? default };
    }

    /// <summary>The CloudEvent's top-level <c>id</c>, without decoding the rest; null when the value is not a JSON object with one.</summary>
    public static string? ReadId(ReadOnlySpan<byte> value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                reader.Skip();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>RFC 3339 as the SDK writes a UTC time truncated to milliseconds: no fraction for whole seconds.</summary>
    private static string CloudEventTime(DateTimeOffset utc) =>
        utc.UtcDateTime.ToString(utc.UtcTicks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'",
            System.Globalization.CultureInfo.InvariantCulture);

    internal static string UtcMilliseconds(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset Truncate(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    /// <summary>Times on the wire are UTC with milliseconds and a Z, as docs/wire-formats.md shows them.</summary>
    private sealed class UtcMillisecondsConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(UtcMilliseconds(value));
    }
}
