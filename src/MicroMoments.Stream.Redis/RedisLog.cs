using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>Source-generated log messages of the pipeline's Redis stages (ids as they were in the worker).</summary>
internal static partial class RedisLog
{
    [LoggerMessage(3, LogLevel.Warning, "Redis is unavailable; consumption paused until it answers")]
    public static partial void RedisDown(ILogger logger, Exception ex);

    [LoggerMessage(4, LogLevel.Information, "Redis answers again; consumption resumed after {Seconds:F1} s")]
    public static partial void RedisBack(ILogger logger, double seconds);

    [LoggerMessage(13, LogLevel.Warning, "Shard {Shard} has a newer owner: this instance's write was refused and its partition will be reprocessed there")]
    public static partial void Fenced(ILogger logger, string shard);

    [LoggerMessage(16, LogLevel.Warning, "Recovered the outbox of shard {Shard} left by a previous owner: {Found} commands were already in Kafka, {Resent} re-sent")]
    public static partial void OutboxRecovered(ILogger logger, string shard, int found, int resent);

    [LoggerMessage(17, LogLevel.Warning, "Clearing acknowledged outboxes failed; the next owner re-checks them against the output topic")]
    public static partial void OutboxClearFailed(ILogger logger, Exception ex);

    [LoggerMessage(42, LogLevel.Error, "{Refusal}: Redis refuses this worker, so consumption is paused until it accepts it. Check the user, password and ACL in MicroMoments__Redis__Configuration")]
    public static partial void RedisAuthFailed(ILogger logger, string refusal, Exception ex);
}
