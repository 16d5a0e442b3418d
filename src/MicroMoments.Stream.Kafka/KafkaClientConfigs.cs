using Confluent.Kafka;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Kafka;

/// <summary>The client settings the pipeline relies on, in one place.</summary>
public static class KafkaClientConfigs
{
    /// <summary>
    /// What the worker's own producer may send: a stock broker's 1 MiB, so a message the broker would refuse is
    /// refused by the client first, the same way on every broker. Commands stay within
    /// <see cref="Core.Interventions.CommandSizeBudget"/> and dead letters within <see cref="DeadLetters.MaxBytes"/>, below it.
    /// </summary>
    public const int WorkerMessageMaxBytes = 1024 * 1024;

    /// <summary>Above the contract's 1 MiB record limit, so an oversized inbound record reaches the dead-letter path.</summary>
    public const int ConsumerMessageMaxBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Cooperative-sticky so a rebalance only moves the partitions that change owner; offsets are stored by
    /// the loop after the batch's state is in Redis and its commands are acknowledged, then auto-committed.
    /// </summary>
    public static ConsumerConfig Consumer(KafkaOptions o, string? clientId = null) => Secure(new ConsumerConfig
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
        // fetch.min.bytes stays 1: the broker answers as soon as a record is there, so a lone event is fetched at
        // once and batches grow only when records pile up while a batch is processed. fetch.wait.max.ms bounds only
        // an empty poll; 100 ms measured a worse p99 at 20k events/s (docs/benchmarks-issue13.md).
        FetchWaitMaxMs = 10,
        FetchMaxBytes = 50 * 1024 * 1024,
        MaxPartitionFetchBytes = 10 * 1024 * 1024,
        MessageMaxBytes = ConsumerMessageMaxBytes,
    }, o);

    /// <summary>
    /// The partitioner every producer of keyed records must use: Java's (murmur2), so a key lands on the partition a
    /// Java or kafkajs producer would pick. librdkafka's default (<c>consistent_random</c>, CRC32) picks another one,
    /// and a user whose records come from both kinds of producer ends up with a state on each partition.
    /// </summary>
    public const Partitioner KeyPartitioner = Partitioner.Murmur2Random;

    /// <summary>
    /// Idempotent, all-acks producer: a retried send never duplicates a record in the log. Keys (user ids) are
    /// partitioned as Java does, so consumers of the interventions see each user's commands on one partition.
    /// </summary>
    public static ProducerConfig Producer(KafkaOptions o, string? clientId = null) => Secure(new ProducerConfig
    {
        BootstrapServers = o.BootstrapServers,
        ClientId = clientId ?? $"micromoments-{Environment.MachineName}",
        Partitioner = KeyPartitioner,
        EnableIdempotence = true,
        Acks = Acks.All,
        // No linger: the loop produces a batch's commands in one burst and then waits for their acknowledgement, so a
        // linger only delays that burst. Measured in issue 20 (9 latency rounds each, docs/benchmarks.md): against 2 ms,
        // p99 at 10k events/s 113 → 67 ms and at 20k 295 → 197 ms, with about the same CPU per event (152 µs at 10k
        // either way, 87 → 90 at 20k; at full batches 63 → 52, where issue 13 had seen 0 ms cost ~20 % more). Messages produced
        // while a request is in flight still go out together in the next one.
        LingerMs = 0,
        MessageMaxBytes = WorkerMessageMaxBytes,
    }, o);

    /// <summary>
    /// A producer of clickstream records (demo, loadgen): it refuses a record above the contract's 1 MiB
    /// with <see cref="ErrorCode.MsgSizeTooLarge"/> instead of sending what the worker would only dead-letter,
    /// and what a small-retention broker (the embedded one keeps 5 MiB per partition) would make room for by
    /// deleting records nobody has read yet. The limit counts key, value and headers.
    /// </summary>
    public static ProducerConfig RecordProducer(KafkaOptions o, string clientId)
    {
        var config = Producer(o, clientId);
        config.MessageMaxBytes = ParserLimits.DefaultMaxRecordBytes;
        // A steady stream of single records, as an app sends them: batched for 2 ms, as before issue 20. Unbatched, each
        // record is a message set of its own, and the embedded broker returns one message set per partition and fetch:
        // in issue 20 the benchmark's load producer at 1 ms instead of 5 (with 1 ms fetch waits) took p99 at 10k events/s
        // from about 100 ms to 750 ms.
        config.LingerMs = 2;
        return config;
    }

    /// <summary>An admin client on the same brokers and security settings.</summary>
    public static AdminClientConfig Admin(KafkaOptions o) => Secure(new AdminClientConfig { BootstrapServers = o.BootstrapServers }, o);

    /// <summary>
    /// Applies the SASL and TLS settings, then every <see cref="KafkaOptions.Client"/> property. librdkafka
    /// treats <c>sasl.password</c> and <c>ssl.key.password</c> as sensitive and never prints them; this code
    /// never logs a client configuration either.
    /// </summary>
    public static T Secure<T>(T config, KafkaOptions o) where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(o);
        if (o.SecurityProtocol is { } protocol)
        {
            config.SecurityProtocol = protocol;
        }
        if (o.SaslMechanism is { } mechanism)
        {
            config.SaslMechanism = mechanism;
        }
        Set(config, "sasl.username", o.SaslUsername);
        Set(config, "sasl.password", o.SaslPassword);
        Set(config, "ssl.ca.location", o.SslCaLocation);
        Set(config, "ssl.certificate.location", o.SslCertificateLocation);
        Set(config, "ssl.key.location", o.SslKeyLocation);
        Set(config, "ssl.key.password", o.SslKeyPassword);
        foreach (var (key, value) in o.Client)
        {
            config.Set(key, value);
        }
        return config;
    }

    private static void Set(ClientConfig config, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            config.Set(key, value);
        }
    }
}
