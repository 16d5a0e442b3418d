using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Makes a skipped range of input offsets loud: an error log naming the partition and the offsets, and the
/// listener (metric, readiness). See <see cref="OffsetGapDetector"/> for what counts as a skip. Used on the consume thread only.
/// </summary>
public sealed class OffsetGapMonitor(IPartitionListener listener, ILogger logger)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly OffsetGapDetector _detector = new();

    /// <summary>Expects each assigned partition to resume at its committed offset (one OffsetFetch per assignment).</summary>
    public void Assigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> parts)
    {
        if (parts.Count == 0)
        {
            return;
        }
        try
        {
            foreach (var c in consumer.Committed(parts, Timeout))
            {
                _detector.Start(c.TopicPartition, c.Offset.Value);
            }
        }
        catch (KafkaException ex)
        {
            // The first record of each partition then sets the expectation: only a skip at the very start goes unseen.
            KafkaLog.GapTrackingDegraded(logger, ex.Error.Reason);
        }
    }

    public void Forget(TopicPartition partition) => _detector.Forget(partition);

    public void Observe(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> record)
    {
        var tp = record.TopicPartition;
        if (_detector.Observe(tp, record.Offset.Value, () => LogStart(consumer, tp)) is not { } gap)
        {
            return;
        }
        KafkaLog.RecordsLost(logger, tp.Topic, tp.Partition.Value, gap.From, gap.To, gap.Count);
        listener.RecordsLost(tp.Topic, tp.Partition.Value, gap.Count,
            $"{gap.Count} records of {tp.Topic}/{tp.Partition.Value} (offsets {gap.From}..{gap.To}) were deleted before they were read");
    }

    private static long LogStart(IConsumer<byte[]?, byte[]?> consumer, TopicPartition tp)
    {
        try
        {
            return consumer.QueryWatermarkOffsets(tp, Timeout).Low.Value;
        }
        catch (KafkaException)
        {
            // Unknown: count the whole jump; a false alarm beats a silent loss.
            return long.MaxValue;
        }
    }
}
