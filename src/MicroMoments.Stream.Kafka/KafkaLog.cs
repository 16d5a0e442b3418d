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
}
