using System.Net.Mime;
using System.Text.Json;
using System.Text.Json.Serialization;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>Encodes intervention commands as CloudEvents 1.0 structured-mode JSON (contract §2).</summary>
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

    public static byte[] Encode(InterventionCommand command)
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

    private static DateTimeOffset Truncate(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    /// <summary>Times on the wire are UTC with milliseconds and a Z, like the contract's examples.</summary>
    private sealed class UtcMillisecondsConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }
}
