using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Stage 7, commit: stores a committed batch's offsets in the consumer (auto-commit sends them), and commits the
/// stored offsets of partitions being revoked, so their new owner starts after what this instance finished.
/// Used on the consume thread only.
/// </summary>
public sealed class OffsetCommitter(IConsumer<byte[]?, byte[]?> consumer, ILogger logger) : IOffsetStore
{
    private readonly HashSet<TopicPartition> _owned = [];
    private readonly Dictionary<TopicPartition, Offset> _stored = [];

    public void Store(BatchPositions positions)
    {
        foreach (var ((topic, partition), next) in positions.Next)
        {
            var tp = new TopicPartition(topic, partition);
            if (!_owned.Contains(tp))
            {
                continue; // revoked while the batch was in hand (Redis down): the new owner redoes this part
            }
            consumer.StoreOffset(new TopicPartitionOffset(tp, next));
            _stored[tp] = next;
        }
    }

    public void Assigned(IEnumerable<TopicPartition> parts) => _owned.UnionWith(parts);

    /// <summary>Commits what was stored for the partitions being revoked, then forgets them.</summary>
    public void Revoked(IReadOnlyCollection<TopicPartition> parts)
    {
        var commit = parts.Where(_stored.ContainsKey).Select(p => new TopicPartitionOffset(p, _stored[p])).ToList();
        if (commit.Count > 0)
        {
            try
            {
                consumer.Commit(commit);
            }
            catch (KafkaException ex)
            {
                KafkaLog.RevokeCommitFailed(logger, ex.Error.Reason);
            }
        }
        Forget(parts);
    }

    public void Forget(IEnumerable<TopicPartition> parts)
    {
        foreach (var p in parts)
        {
            _owned.Remove(p);
            _stored.Remove(p);
        }
    }

    /// <summary>Commits everything stored (on shutdown, before the consumer closes).</summary>
    public void CommitStored()
    {
        try
        {
            consumer.Commit();
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // nothing stored since the last commit
        }
        catch (KafkaException ex)
        {
            KafkaLog.CommitFailed(logger, ex.Error.Reason);
        }
    }
}
