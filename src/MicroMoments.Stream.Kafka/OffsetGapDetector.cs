using Confluent.Kafka;

namespace MicroMoments.Stream.Kafka;

/// <summary>Offsets <see cref="From"/> to <see cref="To"/> (inclusive) of a partition were deleted before this consumer read them.</summary>
public readonly record struct OffsetGap(TopicPartition Partition, long From, long To)
{
    public long Count => To - From + 1;
}

/// <summary>
/// Finds records a consumer skipped without reading them: it remembers, per partition, the next offset it
/// expects (the committed offset at assignment, then one past each record consumed) and looks at every jump.
/// </summary>
/// <remarks>
/// Not every jump is a loss. A compacted topic has holes where superseded records were removed, and a
/// transactional producer's commit and abort markers take offsets that are never delivered (with
/// read_committed, an aborted transaction's records too). Those holes all lie above the partition's log start
/// offset, while retention and an offset reset ("offset out of range" → earliest) move the log start past
/// records the consumer never saw. So a jump counts as lost only for the offsets below the log start offset
/// at the time the jump is seen: <c>[expected, min(offset, logStart) - 1]</c>. The log start is asked only when
/// there is a jump, so ordinary consumption pays nothing. A jump backwards (a seek, a redelivery) resets the
/// expectation and is not a loss.
/// </remarks>
public sealed class OffsetGapDetector
{
    private readonly Dictionary<TopicPartition, long> _next = [];

    /// <summary>The partition was assigned and will be read from <paramref name="offset"/> (its committed offset).</summary>
    public void Start(TopicPartition partition, long offset)
    {
        if (offset >= 0)
        {
            _next[partition] = offset;
        }
    }

    /// <summary>The partition was revoked or lost: nothing is expected of it any more.</summary>
    public void Forget(TopicPartition partition) => _next.Remove(partition);

    /// <summary>The next offset expected of <paramref name="partition"/>, if known.</summary>
    public long? Expected(TopicPartition partition) => _next.TryGetValue(partition, out var next) ? next : null;

    /// <summary>
    /// Records that <paramref name="offset"/> of <paramref name="partition"/> was consumed; returns the offsets
    /// deleted before it was read, if any. <paramref name="logStartOffset"/> is called only on a forward jump.
    /// </summary>
    public OffsetGap? Observe(TopicPartition partition, long offset, Func<long> logStartOffset)
    {
        ArgumentNullException.ThrowIfNull(logStartOffset);
        var known = _next.TryGetValue(partition, out var expected);
        _next[partition] = offset + 1;
        if (!known || offset <= expected)
        {
            return null;
        }
        var lostEnd = Math.Min(offset, logStartOffset()) - 1;
        return lostEnd >= expected ? new OffsetGap(partition, expected, lostEnd) : null;
    }
}
