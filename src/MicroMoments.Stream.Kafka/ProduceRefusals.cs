using Confluent.Kafka;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Produce errors that concern one message, not the broker or the client: sending it again can only fail again, so the
/// message is dead-lettered and the worker moves on (a crash would re-send it from the outbox and crash again).
/// </summary>
public static class ProduceRefusals
{
    /// <summary>A command or cancellation (the output topic) the broker refused as too large, or over <see cref="Core.Interventions.CommandSizeBudget"/>.</summary>
    public const string CommandTooLarge = "command_too_large";

    /// <summary>A decision record (the decisions topic) the broker refused as too large.</summary>
    public const string DecisionTooLarge = "decision_too_large";

    /// <summary>A message the broker refused for another reason of its own (an invalid or corrupt record).</summary>
    public const string Rejected = "produce_rejected";

    /// <summary>Whether <paramref name="code"/> is about the message itself; every other error stops the worker as before.</summary>
    public static bool IsPermanent(ErrorCode code) => IsSize(code) || code is ErrorCode.InvalidMsg or ErrorCode.InvalidRecord;

    /// <summary>The dead-letter reason for a message to <paramref name="topic"/> refused with <paramref name="code"/>.</summary>
    public static string ReasonFor(string topic, ErrorCode code, KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IsSize(code))
        {
            return Rejected;
        }
        return topic == options.DecisionTopic ? DecisionTooLarge : CommandTooLarge;
    }

    private static bool IsSize(ErrorCode code) => code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidMsgSize;
}
