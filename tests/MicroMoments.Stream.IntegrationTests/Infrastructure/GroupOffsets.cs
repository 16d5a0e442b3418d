using Confluent.Kafka;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>The test group's committed offsets and the topics' end offsets, read without joining the group.</summary>
public sealed class GroupOffsets(TestStreams streams) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly IConsumer<Ignore, Ignore> _consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
    {
        BootstrapServers = streams.BootstrapServers,
        GroupId = streams.GroupId,
        EnableAutoCommit = false,
    }).Build();

    /// <summary>Where the group resumes each input partition: its committed offset, or 0 when nothing was committed.</summary>
    public long[] Committed(int partitions) =>
        _consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(streams.Input, p)), Timeout)
            .OrderBy(c => c.Partition.Value)
            .Select(c => c.Offset == Offset.Unset ? 0 : c.Offset.Value)
            .ToArray();

    /// <summary>The offset after the last record of each partition of <paramref name="topic"/>.</summary>
    public long[] Ends(string topic, int partitions) =>
        Enumerable.Range(0, partitions).Select(p => _consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), Timeout).High.Value).ToArray();

    /// <summary>True when the group committed every input record: all their state is in Redis and their commands acknowledged.</summary>
    public bool CaughtUp(int partitions) => Committed(partitions).SequenceEqual(Ends(streams.Input, partitions));

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
