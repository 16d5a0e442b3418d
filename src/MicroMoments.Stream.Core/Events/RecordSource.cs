using System.Collections.Concurrent;

namespace MicroMoments.Stream.Core.Events;

/// <summary>Where a raw record came from: used to order redeliveries and label dead letters (never to derive ids).</summary>
/// <param name="Topic">The Kafka topic, or the input file in <c>simulate</c>.</param>
/// <param name="Partition">The Kafka partition (0 for a file).</param>
/// <param name="Offset">The Kafka offset, or the line number in a file.</param>
/// <param name="Timestamp">The record's own timestamp, used when the body has none.</param>
public readonly record struct RecordSource(string Topic, int Partition, long Offset, DateTimeOffset Timestamp)
{
    /// <summary>"topic/partition": the key of the user's watermark for this record's partition.</summary>
    public string PartitionKey =>
        PartitionKeys.TryGetValue((Topic, Partition), out var key) ? key
        : PartitionKeys.Count < MaxPartitionKeys ? PartitionKeys.GetOrAdd((Topic, Partition), static tp => $"{tp.Topic}/{tp.Partition}")
        : $"{Topic}/{Partition}";

    // Asked once per event, and a worker sees a few dozen partitions: one string each, not one per event.
    private const int MaxPartitionKeys = 4096;
    private static readonly ConcurrentDictionary<(string Topic, int Partition), string> PartitionKeys = new();

    public override string ToString() => $"{Topic}/{Partition}@{Offset}";
}
