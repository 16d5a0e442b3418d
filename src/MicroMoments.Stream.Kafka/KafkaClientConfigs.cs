using Confluent.Kafka;

namespace MicroMoments.Stream.Kafka;

/// <summary>The client settings the pipeline relies on, in one place.</summary>
public static class KafkaClientConfigs
{
    /// <summary>
    /// Cooperative-sticky so a rebalance only moves the partitions that change owner; offsets are stored by
    /// the loop after the batch's state is in Redis and its commands are acknowledged, then auto-committed.
    /// </summary>
    public static ConsumerConfig Consumer(KafkaOptions o, string? clientId = null) => new()
    {
        BootstrapServers = o.BootstrapServers,
        GroupId = o.GroupId,
        ClientId = clientId ?? $"micromoments-{Environment.MachineName}",
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        EnableAutoOffsetStore = false,
        EnableAutoCommit = true,
        AutoCommitIntervalMs = 1000,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        SessionTimeoutMs = (int)o.SessionTimeout.TotalMilliseconds,
        HeartbeatIntervalMs = (int)Math.Min(3000, o.SessionTimeout.TotalMilliseconds / 3),
        FetchWaitMaxMs = 10,
        FetchMaxBytes = 50 * 1024 * 1024,
        MaxPartitionFetchBytes = 10 * 1024 * 1024,
        // Above the contract's 1 MiB record limit so an oversized record reaches the dead-letter path.
        MessageMaxBytes = 8 * 1024 * 1024,
    };

    /// <summary>Idempotent, all-acks producer: a retried send never duplicates a record in the log.</summary>
    public static ProducerConfig Producer(KafkaOptions o, string? clientId = null) => new()
    {
        BootstrapServers = o.BootstrapServers,
        ClientId = clientId ?? $"micromoments-{Environment.MachineName}",
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 2,
        MessageMaxBytes = 8 * 1024 * 1024,
    };
}
