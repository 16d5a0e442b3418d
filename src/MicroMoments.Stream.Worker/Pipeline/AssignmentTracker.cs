using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Hosting;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// What the worker does when the group assigns or takes partitions: ownership and the cache follow, readiness says
/// how many it owns, and timers that fell due while nobody owned a partition are looked for at once.
/// </summary>
internal sealed class AssignmentTracker(ShardOwnership ownership, UserStateCache cache, TimerCheckSchedule timerChecks, PipelineHealth health,
    PipelineTelemetry telemetry, IHostApplicationLifetime lifetime) : IPartitionListener
{
    /// <summary>The commit in flight, settled before partitions go (set once the slot exists).</summary>
    public CommitSlot? Commits { get; set; }

    /// <summary>How long a revoke waits for the commit in flight.</summary>
    public TimeSpan SettleTimeout { get; init; }

    public void Assigned(IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        health.Joined = true;
        health.KafkaDown = null;
        foreach (var (topic, partition) in partitions)
        {
            ownership.Assigned(RedisKeys.Shard(topic, partition));
        }
        health.Partitions = ownership.Owned.Count;
        timerChecks.CheckNow(); // fire what became due while nobody owned these partitions
    }

    public void Revoking(IReadOnlyList<(string Topic, int Partition)> partitions) => Commits?.SettleBeforeRevoke(SettleTimeout);

    public void Released(IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        foreach (var (topic, partition) in partitions)
        {
            var shard = RedisKeys.Shard(topic, partition);
            ownership.Released(shard);
            cache.Drop(shard);
            telemetry.ForgetLag(topic, partition);
        }
        health.Partitions = ownership.Owned.Count;
    }

    public void KafkaError(string? brokersDown, bool fatal)
    {
        if (brokersDown is not null)
        {
            health.KafkaDown = brokersDown;
        }
        if (fatal)
        {
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    public void RecordsLost(string topic, int partition, long count, string description)
    {
        telemetry.RecordsLost(topic, partition, count);
        health.ReportLoss(description);
    }
}
