using System.Buffers;
using System.Net.Mime;
using System.Text.Json;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// The withdrawal of a command sent earlier whose <c>deliverAfter</c> is still ahead (docs/wire-formats.md, "Cancellations"):
/// a CloudEvent of <see cref="EventType"/> with the command's key and subject. <see cref="Reason"/> is one of <see cref="CancelReasons"/>.
/// <see cref="Variant"/> and <see cref="Experiment"/> name the command's arm, as the command did.
/// </summary>
public sealed record InterventionCancellation(string InterventionId, string UserId, string RuleId, string Reason, DateTimeOffset DecidedAt,
    string Variant = "control", string? Experiment = null)
{
    public const string EventType = "io.micromoments.intervention.cancelled.v1";

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>The CloudEvent id (<see cref="InterventionIds.Cancellation"/>).</summary>
    public string Id => InterventionIds.Cancellation(InterventionId);

    /// <summary>Structured-mode CloudEvents JSON, with the same envelope fields, order and time format as a command's.</summary>
    public byte[] Encode()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("specversion"u8, "1.0"u8);
            w.WriteString("id"u8, Id);
            w.WriteString("type"u8, EventType);
            w.WriteString("source"u8, InterventionCloudEvents.SourceText);
            w.WriteString("time"u8, InterventionCloudEvents.TimeText(DecidedAt));
            w.WriteString("subject"u8, UserId);
            w.WriteString("datacontenttype"u8, MediaTypeNames.Application.Json);
            w.WriteStartObject("data"u8);
            w.WriteString("interventionId"u8, InterventionId);
            w.WriteString("userId"u8, UserId);
            w.WriteString("ruleId"u8, RuleId);
            w.WriteString("reason"u8, Reason);
            w.WriteString("variant"u8, Variant);
            if (Experiment is null)
            {
                w.WriteNull("experiment"u8);
            }
            else
            {
                w.WriteString("experiment"u8, Experiment);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>Why a command was cancelled: the decision reason and the cancellation's <c>data.reason</c> (docs/wire-formats.md).</summary>
public static class CancelReasons
{
    /// <summary>Followed by the normalised event name: <c>cancel_on:order completed</c>.</summary>
    public const string CancelOnPrefix = "cancel_on:";

    /// <summary>The rule was paused for the user by dismissals after the command was sent.</summary>
    public const string DismissalPause = "dismissal_pause";

    /// <summary>All nudges were paused for the user (unanswered in a row) after the command was sent.</summary>
    public const string AutoPause = "auto_pause";

    /// <summary>An event that arrived late, within the allowed lateness, shows that timestamp order would not have sent the command.</summary>
    public const string LateEvent = "late_event";

    public static string CancelOn(string eventKey) => CancelOnPrefix + eventKey;
}
