namespace MicroMoments.Stream.Core.Events;

/// <summary>Where a raw record came from: used to derive ids, order redeliveries and label dead letters.</summary>
/// <param name="Topic">The Kafka topic, or the input file in <c>simulate</c>.</param>
/// <param name="Partition">The Kafka partition (0 for a file).</param>
/// <param name="Offset">The Kafka offset, or the line number in a file.</param>
/// <param name="Timestamp">The record's own timestamp, used when the body has none.</param>
public readonly record struct RecordSource(string Topic, int Partition, long Offset, DateTimeOffset Timestamp)
{
    public string PartitionKey => $"{Topic}/{Partition}";

    public override string ToString() => $"{Topic}/{Partition}@{Offset}";
}
