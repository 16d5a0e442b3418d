using System.Buffers;
using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Writes a <see cref="Decision"/> as the JSON of the decisions topic and of <c>explain</c>: byte for byte what
/// <see cref="JsonSerializer"/> writes with <see cref="InterventionCloudEvents.DataOptions"/>, without its
/// per-call reflection over the record and the boxed trigger details.
/// </summary>
public static class DecisionJson
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    public static string Serialize(Decision d)
    {
        if (!TriggerDetailsJson.Writable(d.Trigger.Details))
        {
            return JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions);
        }
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("userId"u8, d.UserId);
            w.WriteString("ruleId"u8, d.RuleId);
            w.WriteString("ruleVersion"u8, d.RuleVersion);
            w.WriteString("outcome"u8, d.Outcome);
            w.WriteString("reason"u8, d.Reason);
            w.WriteString("interventionId"u8, d.InterventionId);
            w.WriteString("at"u8, InterventionCloudEvents.UtcMilliseconds(d.At));
            TriggerDetailsJson.WriteTrigger(w, d.Trigger);
            if (d.Delivery is { } delivery)
            {
                w.WriteStartObject("delivery"u8);
                w.WriteString("mode"u8, delivery.Mode);
                w.WriteNumber("hour"u8, delivery.Hour);
                w.WriteString("basis"u8, delivery.Basis);
                w.WriteNumber("activeDays"u8, delivery.ActiveDays);
                w.WriteEndObject();
            }
            if (d.Variant is not null)
            {
                w.WriteString("variant"u8, d.Variant);
            }
            if (d.Blocked is not null)
            {
                w.WriteString("blocked"u8, d.Blocked);
            }
            if (d.FollowUp)
            {
                w.WriteBoolean("followUp"u8, true);
            }
            if (d.Assigned)
            {
                w.WriteBoolean("assigned"u8, true);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
