using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Source-generated log messages of the pipeline.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Dead-lettered {Topic}/{Partition}@{Offset}: {Reason}: {Message}")]
    public static partial void DeadLettered(ILogger logger, string topic, int partition, long offset, string reason, string message);

    [LoggerMessage(2, LogLevel.Error, "Rule evaluation failed for {Topic}/{Partition}@{Offset}")]
    public static partial void RuleFailed(ILogger logger, Exception ex, string topic, int partition, long offset);

    // Ids from 1101: other changes add messages at the end of this list.
    [LoggerMessage(1101, LogLevel.Error, "A timer of user {UserId} in {Shard} made a rule throw; its due timers are dropped and the loop goes on")]
    public static partial void TimerFailed(ILogger logger, Exception ex, string shard, string userId);

    [LoggerMessage(3, LogLevel.Warning, "Redis is unavailable; consumption paused until it answers")]
    public static partial void RedisDown(ILogger logger, Exception ex);

    [LoggerMessage(4, LogLevel.Information, "Redis answers again; consumption resumed after {Seconds:F1} s")]
    public static partial void RedisBack(ILogger logger, double seconds);

    [LoggerMessage(5, LogLevel.Information, "Partitions assigned: {Partitions}")]
    public static partial void Assigned(ILogger logger, string partitions);

    [LoggerMessage(6, LogLevel.Information, "Partitions revoked: {Partitions}")]
    public static partial void Revoked(ILogger logger, string partitions);

    [LoggerMessage(7, LogLevel.Warning, "Partitions lost: {Partitions}")]
    public static partial void Lost(ILogger logger, string partitions);

    // A high id, clear of the sequence other log lines take.
    [LoggerMessage(1102, LogLevel.Error, "Redis refused the population sync (a command error, not an outage); its task-time votes are dropped and the stream goes on")]
    public static partial void PopulationSyncRefused(ILogger logger, Exception ex);

    [LoggerMessage(8, LogLevel.Critical, "The consume loop failed; the worker stops")]
    public static partial void LoopFailed(ILogger logger, Exception ex);

    [LoggerMessage(9, LogLevel.Error, "Kafka error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(10, LogLevel.Information, "Consume loop stopped: offsets committed, consumer closed")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(11, LogLevel.Warning, "Commit on shutdown failed: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string reason);

    [LoggerMessage(13, LogLevel.Warning, "Shard {Shard} has a newer owner: this instance's write was refused and its partition will be reprocessed there")]
    public static partial void Fenced(ILogger logger, string shard);

    [LoggerMessage(14, LogLevel.Error, "The state write of the last batch failed at shutdown; its offsets stay uncommitted and it will be redelivered")]
    public static partial void ShutdownWriteFailed(ILogger logger, Exception ex);

    [LoggerMessage(12, LogLevel.Information, "Consuming {Topics} as group {GroupId}; rules {RuleVersion}")]
    public static partial void Starting(ILogger logger, string topics, string groupId, string ruleVersion);

    [LoggerMessage(15, LogLevel.Warning, "Could not learn where the output topic's partitions end ({Reason}); an outbox recovery reads them from the beginning")]
    public static partial void OutputOffsetsUnknown(ILogger logger, string reason);

    [LoggerMessage(16, LogLevel.Warning, "Recovered the outbox of shard {Shard} left by a previous owner: {Found} commands were already in Kafka, {Resent} re-sent")]
    public static partial void OutboxRecovered(ILogger logger, string shard, int found, int resent);

    [LoggerMessage(17, LogLevel.Warning, "Clearing acknowledged outboxes failed; the next owner re-checks them against the output topic")]
    public static partial void OutboxClearFailed(ILogger logger, Exception ex);

    [LoggerMessage(18, LogLevel.Warning, "Committing the offsets of revoked partitions failed ({Reason}); the new owner redelivers from the last commit and skips what this instance already applied")]
    public static partial void RevokeCommitFailed(ILogger logger, string reason);

    [LoggerMessage(40, LogLevel.Error, "Records lost on {Topic}/{Partition}: offsets {From}..{To} ({Count} records) were deleted by the broker (retention) before this worker read them; the consumer skipped to the partition's log start")]
    public static partial void RecordsLost(ILogger logger, string topic, int partition, long from, long to, long count);

    [LoggerMessage(41, LogLevel.Warning, "Could not read the committed offsets of newly assigned partitions ({Reason}); a skip before their first record would go unnoticed")]
    public static partial void GapTrackingDegraded(ILogger logger, string reason);

    [LoggerMessage(1210, LogLevel.Warning, "User {UserId} arrived on {Shard} but already has state on {OtherShard}: the producers put this user on two partitions. " +
        "Each partition keeps its own state, so caps, cooldowns and history do not hold across them; `explain --user` shows both. " +
        "Key records by user id with the murmur2 partitioner (docs/wire-formats.md, Producing events). Logged once per user")]
    public static partial void UserSplitAcrossPartitions(ILogger logger, string userId, string shard, string otherShard);

    [LoggerMessage(42, LogLevel.Error, "{Refusal}: Redis refuses this worker, so consumption is paused until it accepts it. Check the user, password and ACL in MicroMoments__Redis__Configuration")]
    public static partial void RedisAuthFailed(ILogger logger, string refusal, Exception ex);

    // Debug: anyone can send such an alias, as often as they like; the metric counts them.
    [LoggerMessage(1201, LogLevel.Debug, "Alias {PreviousId} -> {UserId} at {Topic}/{Partition}@{Offset} merged nothing ({Reason}): an alias merges only a state seen solely under an anonymousId and not merged before")]
    public static partial void AliasNotMerged(ILogger logger, string previousId, string userId, string reason, string topic, int partition, long offset);
}
