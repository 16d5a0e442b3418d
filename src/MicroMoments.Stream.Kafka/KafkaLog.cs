using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>Source-generated log messages of the pipeline's Kafka stages (ids as they were in the worker).</summary>
internal static partial class KafkaLog
{
    [LoggerMessage(5, LogLevel.Information, "Partitions assigned: {Partitions}")]
    public static partial void Assigned(ILogger logger, string partitions);

    [LoggerMessage(6, LogLevel.Information, "Partitions revoked: {Partitions}")]
    public static partial void Revoked(ILogger logger, string partitions);

    [LoggerMessage(7, LogLevel.Warning, "Partitions lost: {Partitions}")]
    public static partial void Lost(ILogger logger, string partitions);

    [LoggerMessage(9, LogLevel.Error, "Kafka error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(10, LogLevel.Information, "Consume loop stopped: offsets committed, consumer closed")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(11, LogLevel.Warning, "Commit on shutdown failed: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string reason);

    [LoggerMessage(15, LogLevel.Warning, "Could not learn where the output topic's partitions end ({Reason}); an outbox recovery reads them from the beginning")]
    public static partial void OutputOffsetsUnknown(ILogger logger, string reason);

    [LoggerMessage(18, LogLevel.Warning, "Committing the offsets of revoked partitions failed ({Reason}); the new owner redelivers from the last commit and skips what this instance already applied")]
    public static partial void RevokeCommitFailed(ILogger logger, string reason);

    [LoggerMessage(40, LogLevel.Error, "Records lost on {Topic}/{Partition}: offsets {From}..{To} ({Count} records) were deleted by the broker (retention) before this worker read them; the consumer skipped to the partition's log start")]
    public static partial void RecordsLost(ILogger logger, string topic, int partition, long from, long to, long count);

    [LoggerMessage(41, LogLevel.Warning, "Could not read the committed offsets of newly assigned partitions ({Reason}); a skip before their first record would go unnoticed")]
    public static partial void GapTrackingDegraded(ILogger logger, string reason);

    [LoggerMessage(1401, LogLevel.Error, "Kafka refused a message for {Topic} (intervention {InterventionId}, value {Bytes} bytes): {Error}; dead-lettered as {Reason}, and the worker goes on")]
    public static partial void Refused(ILogger logger, string topic, string interventionId, int bytes, string error, string reason);

    [LoggerMessage(1402, LogLevel.Warning, "Kafka refused a dead letter ({Reason}) for {Topic}: {Error}; sent again with its headers only")]
    public static partial void DeadLetterCut(ILogger logger, string topic, string reason, string error);

    [LoggerMessage(1403, LogLevel.Error, "Kafka refused a dead letter ({Reason}, from {SourceTopic} offset {SourceOffset}) for {Topic} even with its headers only: {Error}; it is dropped")]
    public static partial void DeadLetterDropped(ILogger logger, string topic, string reason, string sourceTopic, string sourceOffset, string error);
}
