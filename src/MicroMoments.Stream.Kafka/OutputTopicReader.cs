using System.Diagnostics;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Kafka;

/// <summary>Reads the output topic back: where its partitions end, and which commands it already holds.</summary>
public sealed class OutputTopicReader(IProducer<byte[]?, byte[]?> producer, IOptions<KafkaOptions> options)
{
    private readonly KafkaOptions _options = options.Value;

    /// <summary>Where each partition of the output topic ends now.</summary>
    public Dictionary<int, long> Ends()
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ReaderConfig()).Build();
        return Watermarks(consumer).ToDictionary(w => w.Key.Partition.Value, w => w.Value.High.Value);
    }

    /// <summary>Which of the wanted command ids are in the output topic, reading each partition from its bound to its current end.</summary>
    public HashSet<string> ReadProducedIds(Dictionary<int, long> bounds, HashSet<string> wanted, CancellationToken ct)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ReaderConfig()).Build();
        var ends = new Dictionary<TopicPartition, long>();
        var starts = new List<TopicPartitionOffset>();
        foreach (var (tp, marks) in Watermarks(consumer))
        {
            var from = Math.Max(bounds.GetValueOrDefault(tp.Partition.Value), marks.Low.Value);
            if (from < marks.High.Value)
            {
                ends[tp] = marks.High.Value;
                starts.Add(new TopicPartitionOffset(tp, from));
            }
        }
        consumer.Assign(starts);
        var elapsed = Stopwatch.StartNew();
        while (ends.Count > 0 && found.Count < wanted.Count)
        {
            ct.ThrowIfCancellationRequested();
            if (elapsed.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"reading back {_options.OutputTopic} to recover an outbox took over 2 minutes");
            }
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && r.Message.Value is { } value && InterventionCloudEvents.ReadId(value) is { } id && wanted.Contains(id))
            {
                found.Add(id);
            }
            foreach (var tp in ends.Keys.ToList())
            {
                var position = consumer.Position(tp);
                if (position != Offset.Unset && position.Value >= ends[tp])
                {
                    ends.Remove(tp);
                }
            }
        }
        return found;
    }

    /// <summary>Each partition of the output topic with its low and high watermarks now; none when the topic's metadata has an error.</summary>
    private Dictionary<TopicPartition, WatermarkOffsets> Watermarks(IConsumer<byte[]?, byte[]?> consumer)
    {
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        var topic = admin.GetMetadata(_options.OutputTopic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault();
        return topic is null || topic.Error.IsError
            ? []
            : topic.Partitions.Select(p => new TopicPartition(_options.OutputTopic, p.PartitionId))
                .ToDictionary(tp => tp, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)));
    }

    private ConsumerConfig ReaderConfig()
    {
        var config = KafkaClientConfigs.Consumer(_options);
        config.GroupId = $"{_options.GroupId}.outbox-reader";
        config.EnableAutoCommit = false;
        config.IsolationLevel = IsolationLevel.ReadUncommitted;
        return config;
    }
}
