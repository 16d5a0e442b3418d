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

    [LoggerMessage(8, LogLevel.Critical, "The consume loop failed; the worker stops")]
    public static partial void LoopFailed(ILogger logger, Exception ex);

    [LoggerMessage(14, LogLevel.Error, "The state write of the last batch failed at shutdown; its offsets stay uncommitted and it will be redelivered")]
    public static partial void ShutdownWriteFailed(ILogger logger, Exception ex);

    [LoggerMessage(12, LogLevel.Information, "Consuming {Topics} as group {GroupId}; rules {RuleVersion}")]
    public static partial void Starting(ILogger logger, string topics, string groupId, string ruleVersion);

    [LoggerMessage(1210, LogLevel.Warning, "User {UserId} arrived on {Shard} but already has state on {OtherShard}: the producers put this user on two partitions. " +
        "Each partition keeps its own state, so caps, cooldowns and history do not hold across them; `explain --user` shows both. " +
        "Key records by user id with the murmur2 partitioner (docs/wire-formats.md, Producing events). Logged once per user")]
    public static partial void UserSplitAcrossPartitions(ILogger logger, string userId, string shard, string otherShard);

    // Debug: anyone can send such an alias, as often as they like; the metric counts them.
    [LoggerMessage(1201, LogLevel.Debug, "Alias {PreviousId} -> {UserId} at {Topic}/{Partition}@{Offset} merged nothing ({Reason}): an alias merges only a state seen solely under an anonymousId and not merged before")]
    public static partial void AliasNotMerged(ILogger logger, string previousId, string userId, string reason, string topic, int partition, long offset);

    [LoggerMessage(1301, LogLevel.Debug, "Batch path warmed up in {Milliseconds:F0} ms ({Decisions} decisions) before joining the group")]
    public static partial void WarmedUp(ILogger logger, double milliseconds, int decisions);

    // Only a speed-up (and Redis may simply be down at start): the real batches decide for themselves.
    [LoggerMessage(1302, LogLevel.Information, "The warm-up batch did not finish; the worker goes on without it")]
    public static partial void WarmUpFailed(ILogger logger, Exception ex);

    [LoggerMessage(1501, LogLevel.Error, "The state of user {UserId} under {Key} cannot be read ({Error}); its bytes are kept under {QuarantineKey}, it is dead-lettered state_unreadable and the user starts fresh")]
    public static partial void StateQuarantined(ILogger logger, string userId, string key, string quarantineKey, string error);
}
