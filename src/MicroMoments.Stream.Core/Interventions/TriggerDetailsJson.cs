using System.Text.Json;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>Writes a <see cref="TriggerInfo"/> as <see cref="JsonSerializer"/> does with <see cref="InterventionCloudEvents.DataOptions"/>.</summary>
internal static class TriggerDetailsJson
{
    /// <summary>Details of the kinds the rule engine makes: strings, integers, booleans, finite doubles, JSON literals.</summary>
    public static bool Writable(IReadOnlyDictionary<string, object> details)
    {
        foreach (var (_, value) in details)
        {
            var writable = value switch
            {
                string or int or long or bool => true,
                JsonLiteral j => j.Text is not null,
                double x => double.IsFinite(x),
                _ => false,
            };
            if (!writable)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Writes <c>"trigger":{"kind":..,"eventIds":[..],"details":{..}}</c>; the details must be <see cref="Writable"/>.</summary>
    public static void WriteTrigger(Utf8JsonWriter w, TriggerInfo trigger)
    {
        w.WriteStartObject("trigger"u8);
        w.WriteString("kind"u8, trigger.Kind);
        w.WriteStartArray("eventIds"u8);
        foreach (var id in trigger.EventIds)
        {
            w.WriteStringValue(id);
        }
        w.WriteEndArray();
        w.WriteStartObject("details"u8);
        foreach (var (key, value) in trigger.Details)
        {
            w.WritePropertyName(key);
            switch (value)
            {
                case string s:
                    w.WriteStringValue(s);
                    break;
                case int i:
                    w.WriteNumberValue(i);
                    break;
                case long l:
                    w.WriteNumberValue(l);
                    break;
                case double x:
                    w.WriteNumberValue(x);
                    break;
                case bool b:
                    w.WriteBooleanValue(b);
                    break;
                case JsonLiteral j:
                    w.WriteRawValue(j.Text, skipInputValidation: true); // a number or boolean as the event sent it
                    break;
            }
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
