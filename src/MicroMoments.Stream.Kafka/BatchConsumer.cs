using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Stage 1, consume: the group consumer of the input topics, read a batch at a time on one thread. The group's
/// rebalance callbacks run inside its polls, on that same thread, and go to the <see cref="IPartitionListener"/>;
/// <see cref="Offsets"/> is stage 7. Pausing (a Redis outage) keeps polling, so the membership stays alive.
/// </summary>
public sealed class BatchConsumer : IConsumptionPause, IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly IPartitionListener _listener;
    private readonly OffsetGapMonitor _gaps;
    private readonly ILogger _logger;

    public BatchConsumer(KafkaOptions options, IPartitionListener listener, ILogger logger)
    {
        (_listener, _logger) = (listener, logger);
        _gaps = new OffsetGapMonitor(listener, logger);
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Consumer(options))
            .SetPartitionsAssignedHandler((c, parts) => OnAssigned(c, parts))
            .SetPartitionsRevokedHandler((_, parts) => OnRevoked(parts))
            .SetPartitionsLostHandler((_, parts) => OnLost(parts))
            .SetErrorHandler((_, e) => OnError(e))
            .Build();
        Offsets = new OffsetCommitter(_consumer, logger);
        _consumer.Subscribe(options.InputTopics);
    }

    public OffsetCommitter Offsets { get; }

    /// <summary>Waits up to <paramref name="wait"/> for a first record, then takes what is already fetched, up to <paramref name="max"/>.</summary>
    public List<SourceRecord> ConsumeBatch(TimeSpan wait, int max, CancellationToken ct)
    {
        var batch = new List<SourceRecord>();
        var first = _consumer.Consume(wait);
        if (first is null)
        {
            return batch;
        }
        batch.Add(ConsumedRecord.ToSource(first));
        _gaps.Observe(_consumer, first);
        while (batch.Count < max && !ct.IsCancellationRequested && _consumer.Consume(TimeSpan.Zero) is { } next)
        {
            batch.Add(ConsumedRecord.ToSource(next));
            _gaps.Observe(_consumer, next);
        }
        return batch;
    }

    public void Pause() => _consumer.Pause(_consumer.Assignment);

    public void Poll(TimeSpan wait)
    {
        if (_consumer.Consume(wait) is { } unexpected)
        {
            // A partition assigned while paused delivered a record: put it back for after the pause.
            _consumer.Seek(unexpected.TopicPartitionOffset);
            _consumer.Pause([unexpected.TopicPartition]);
        }
    }

    public void Resume() => _consumer.Resume(_consumer.Assignment);

    /// <summary>Consumer lag per owned partition, from the client's cached watermarks: no I/O, so after every batch.</summary>
    public void SampleLag(Action<string, int, long> lag)
    {
        foreach (var tp in _consumer.Assignment)
        {
            var high = _consumer.GetWatermarkOffsets(tp).High;
            var position = _consumer.Position(tp);
            if (high != Offset.Unset && position != Offset.Unset)
            {
                lag(tp.Topic, tp.Partition.Value, Math.Max(0, high.Value - position.Value));
            }
        }
    }

    /// <summary>Commits what is stored and leaves the group.</summary>
    public void Close()
    {
        Offsets.CommitStored();
        _consumer.Close();
        KafkaLog.Stopped(_logger);
    }

    public void Dispose() => _consumer.Dispose();

    private static List<(string Topic, int Partition)> Named(IEnumerable<TopicPartition> parts) => parts.Select(p => (p.Topic, p.Partition.Value)).ToList();

    private void OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> parts)
    {
        Offsets.Assigned(parts);
        _listener.Assigned(Named(parts));
        KafkaLog.Assigned(_logger, string.Join(",", parts));
        _gaps.Assigned(consumer, parts);
    }

    private void OnRevoked(List<TopicPartitionOffset> revoked)
    {
        var parts = revoked.Select(p => p.TopicPartition).ToList();
        _listener.Revoking(Named(parts));
        Offsets.Revoked(parts);
        Release(parts);
        KafkaLog.Revoked(_logger, string.Join(",", parts));
    }

    private void OnLost(List<TopicPartitionOffset> lost)
    {
        var parts = lost.Select(p => p.TopicPartition).ToList();
        Offsets.Forget(parts);
        Release(parts);
        KafkaLog.Lost(_logger, string.Join(",", parts));
    }

    private void Release(List<TopicPartition> parts)
    {
        foreach (var p in parts)
        {
            _gaps.Forget(p);
        }
        _listener.Released(Named(parts));
    }

    private void OnError(Error e)
    {
        KafkaLog.KafkaError(_logger, e.Code.ToString(), e.Reason);
        _listener.KafkaError(e.Code == ErrorCode.Local_AllBrokersDown ? e.Reason : null, e.IsFatal);
    }
}
