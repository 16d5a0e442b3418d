using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>The unique topics, group and key prefix of one test, and helpers to produce to and read from them.</summary>
public sealed class TestStreams(KafkaFixture kafka, int inputPartitions, string input, string output, string deadLetters, string decisions) : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
    {
        BootstrapServers = kafka.BootstrapServers,
        Partitioner = KafkaClientConfigs.KeyPartitioner,
        EnableIdempotence = true,
        MessageMaxBytes = 4 * 1024 * 1024,
    }).Build();

    public string Input { get; } = input;
    public string Output { get; } = output;
    public string DeadLetters { get; } = deadLetters;
    public string Decisions { get; } = decisions;
    public string GroupId { get; } = $"mm-test-{Guid.NewGuid():N}";
    public string KeyPrefix { get; } = $"t{Guid.NewGuid():N}:";
    public string BootstrapServers => kafka.BootstrapServers;

    public static async Task<TestStreams> CreateAsync(KafkaFixture kafka, int inputPartitions = 3) =>
        new(kafka, inputPartitions,
            await kafka.CreateTopicAsync("clickstream", inputPartitions),
            await kafka.CreateTopicAsync("interventions", 1),
            await kafka.CreateTopicAsync("deadletter", 1),
            await kafka.CreateTopicAsync("decisions", 1));

    public Task ProduceAsync(string? key, string json, Headers? headers = null) =>
        ProduceAsync(key, Encoding.UTF8.GetBytes(json), headers);

    public Task ProduceAsync(string? key, byte[] value, Headers? headers = null) =>
        _producer.ProduceAsync(Input, new Message<byte[]?, byte[]?>
        {
            Key = key is null ? null : Encoding.UTF8.GetBytes(key),
            Value = value,
            Headers = headers ?? [],
        });

    /// <summary>
    /// Publishes many records fast, off the test thread: a dedicated producer that lingers and batches, with a
    /// delivery callback instead of a task per record. It stays within about two <paramref name="window"/>s of
    /// the worker group's committed offsets: librdkafka's mock broker keeps only the newest 5 MiB of each
    /// partition, and a consumer further behind would skip what was pruned. Throws if a delivery failed;
    /// returns the partition of each key.
    /// </summary>
    public Task<Dictionary<string, int>> ProduceManyAsync(IEnumerable<(string? Key, byte[] Value)> records, int window = 50_000) => Task.Run(async () =>
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Partitioner = KafkaClientConfigs.KeyPartitioner,
            EnableIdempotence = true,
            LingerMs = 20,
            BatchSize = 1024 * 1024,
            BatchNumMessages = 10_000,
            QueueBufferingMaxMessages = 2 * window,
        }).Build();
        var partitions = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<Error>();
        var produced = 0;
        foreach (var (key, value) in records)
        {
            var message = new Message<byte[]?, byte[]?> { Key = key is null ? null : Encoding.UTF8.GetBytes(key), Value = value };
            void Delivered(DeliveryReport<byte[]?, byte[]?> report)
            {
                lock (partitions)
                {
                    if (report.Error.IsError)
                    {
                        failures.Add(report.Error);
                    }
                    else if (key is not null)
                    {
                        partitions[key] = report.Partition.Value;
                    }
                }
            }
            producer.Produce(Input, message, Delivered);
            if (++produced % window == 0)
            {
                Flush(producer);
                await Eventually.TrueAsync(() => InputProgress().Lag <= window, TimeSpan.FromSeconds(120), $"the worker within {window} records of the producer");
            }
        }
        Flush(producer);
        lock (partitions)
        {
            return failures.Count == 0 ? partitions : throw new InvalidOperationException($"{failures.Count} deliveries failed, first: {failures[0]}");
        }
    });

    private static void Flush(IProducer<byte[]?, byte[]?> producer)
    {
        if (producer.Flush(TimeSpan.FromMinutes(1)) > 0)
        {
            throw new TimeoutException("records still undelivered after a minute");
        }
    }

    /// <summary>Reads a topic from its start, in the background, into a list the test can poll.</summary>
    public TopicReader Read(string topic) => new(BootstrapServers, topic);

    public Dictionary<string, string?> WorkerConfiguration(string redisConfiguration) => new()
    {
        ["MicroMoments:Kafka:BootstrapServers"] = BootstrapServers,
        ["MicroMoments:Kafka:GroupId"] = GroupId,
        ["MicroMoments:Kafka:InputTopics:0"] = Input,
        ["MicroMoments:Kafka:OutputTopic"] = Output,
        ["MicroMoments:Kafka:DeadLetterTopic"] = DeadLetters,
        ["MicroMoments:Kafka:DecisionTopic"] = Decisions,
        ["MicroMoments:Kafka:PollInterval"] = "00:00:00.050",
        ["MicroMoments:Kafka:SessionTimeout"] = "00:00:06",
        ["MicroMoments:Redis:Configuration"] = redisConfiguration,
        ["MicroMoments:Redis:KeyPrefix"] = KeyPrefix,
        ["MicroMoments:Pipeline:TimerCheckInterval"] = "00:00:00.050",
        ["MicroMoments:Demo:Enabled"] = "false",
        ["urls"] = "http://127.0.0.1:0",
    };

    private IConsumer<byte[]?, byte[]?>? _offsets;

    // Never subscribes, so it reads the group's committed offsets without joining the group.
    private IConsumer<byte[]?, byte[]?> Offsets => _offsets ??= new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
    {
        BootstrapServers = BootstrapServers,
        GroupId = GroupId,
        EnableAutoCommit = false,
    }).Build();

    /// <summary>
    /// The worker group's progress on the input topic: the committed offsets summed over partitions, and the lag
    /// (records not yet committed). Offsets are committed only after their state is in Redis.
    /// </summary>
    public (long Committed, long Lag) InputProgress()
    {
        var consumer = Offsets;
        var committed = consumer.Committed(Enumerable.Range(0, inputPartitions).Select(p => new TopicPartition(Input, p)), TimeSpan.FromSeconds(10));
        long done = 0, lag = 0;
        foreach (var c in committed)
        {
            var offset = c.Offset.IsSpecial ? 0 : c.Offset.Value;
            done += offset;
            lag += consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value - offset;
        }
        return (done, lag);
    }

    /// <summary>How many records a single-partition topic (output, dead letters, decisions) holds.</summary>
    public long Count(string topic) => Offsets.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;

    public void Dispose()
    {
        _producer.Dispose();
        _offsets?.Dispose();
    }
}

/// <summary>Consumes one topic from the beginning on a background thread.</summary>
public sealed class TopicReader : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly List<ConsumeResult<byte[]?, byte[]?>> _records = [];

    public TopicReader(string bootstrap, string topic)
    {
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        consumer.Subscribe(topic);
        _thread = new Thread(() =>
        {
            using (consumer)
            {
                while (!_stop.IsCancellationRequested)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { } r)
                    {
                        lock (_records)
                        {
                            _records.Add(r);
                        }
                    }
                }
                consumer.Close();
            }
        }) { IsBackground = true, Name = $"reader {topic}" };
        _thread.Start();
    }

    public IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Records
    {
        get
        {
            lock (_records)
            {
                return _records.ToList();
            }
        }
    }

    public async Task<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => Records.Count >= count, timeout ?? TimeSpan.FromSeconds(30), $"{count} records");
        return Records;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
