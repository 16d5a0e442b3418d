namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Hears the consumer group's decisions, on the consume thread (inside a poll of <see cref="BatchConsumer"/>):
/// keep each call short.
/// </summary>
public interface IPartitionListener
{
    void Assigned(IReadOnlyList<(string Topic, int Partition)> partitions);

    /// <summary>The partitions are about to go: the commit in flight may still store its offsets, which go with the revoke.</summary>
    void Revoking(IReadOnlyList<(string Topic, int Partition)> partitions);

    /// <summary>Revoked or lost: this instance no longer owns them.</summary>
    void Released(IReadOnlyList<(string Topic, int Partition)> partitions);

    /// <summary>A client error: <c>brokersDown</c> says why no broker answers (null for another error); a fatal one ends the worker.</summary>
    void KafkaError(string? brokersDown, bool fatal);

    /// <summary>Records of a partition were deleted before this consumer read them.</summary>
    void RecordsLost(string topic, int partition, long count, string description);
}
