using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// One message a batch produces. <see cref="InterventionId"/> is the CloudEvent id of an intervention command or
/// cancellation, the only messages that must never be produced twice; <see cref="Command"/> and <see cref="DeadLetterReason"/> are
/// for telemetry and are not kept in the outbox.
/// </summary>
public sealed record Outbound(string Topic, Message<byte[]?, byte[]?> Message, string? InterventionId,
    InterventionCommand? Command = null, string? DeadLetterReason = null);
