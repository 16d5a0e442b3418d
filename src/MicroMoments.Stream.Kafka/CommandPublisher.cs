using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Stage 6, publish: produces a batch's messages and waits until Kafka acknowledges every one. It also keeps, per
/// output partition, an offset no later than where the next command can land: the bound written into each outbox.
/// </summary>
public sealed class CommandPublisher(IProducer<byte[]?, byte[]?> producer, OutputTopicReader output, IPublishListener listener, ILogger<CommandPublisher> logger)
{
    private readonly Dictionary<int, long> _bounds = [];
    private readonly Lock _boundsLock = new();

    /// <summary>
    /// Learns where the output topic's partitions end now: every command produced from here on lands at or
    /// after these offsets. Called once at start; a partition it cannot learn is read from its beginning on recovery.
    /// </summary>
    public void Initialize()
    {
        try
        {
            foreach (var (partition, end) in output.Ends())
            {
                Advance(partition, end);
            }
        }
        catch (KafkaException ex)
        {
            KafkaLog.OutputOffsetsUnknown(logger, ex.Error.Reason);
        }
    }

    /// <summary>Each shard's messages encoded as its outbox, with where each output partition ends as far as this instance knows.</summary>
    public Dictionary<string, byte[]> Outboxes(Dictionary<string, List<Outbound>> byShard)
    {
        lock (_boundsLock)
        {
            return byShard.ToDictionary(s => s.Key, s => Outbox.Encode(_bounds, s.Value), StringComparer.Ordinal);
        }
    }

    /// <summary>A batch's messages, to be produced once the state of their shards is written.</summary>
    public IPreparedMessages Prepare(Dictionary<string, List<Outbound>> byShard) => new ShardMessages(this, byShard);

    /// <summary>Produces the messages and returns once Kafka acknowledged every one.</summary>
    public async Task ProduceAsync(IEnumerable<Outbound> messages)
    {
        var acks = new List<Task>();
        foreach (var m in messages)
        {
            var ack = producer.ProduceAsync(m.Topic, m.Message);
            acks.Add(m.InterventionId is not null ? Track(ack) : ack);
            if (m.Command is not null)
            {
                listener.Emitted(m.Command);
            }
            if (m.DeadLetterReason is not null)
            {
                listener.DeadLettered(m.DeadLetterReason);
            }
        }
        await Task.WhenAll(acks);
    }

    private async Task Track(Task<DeliveryResult<byte[]?, byte[]?>> ack)
    {
        var result = await ack;
        Advance(result.Partition.Value, result.Offset.Value + 1);
    }

    private void Advance(int partition, long offset)
    {
        lock (_boundsLock)
        {
            if (offset > _bounds.GetValueOrDefault(partition))
            {
                _bounds[partition] = offset;
            }
        }
    }

    private sealed class ShardMessages(CommandPublisher publisher, Dictionary<string, List<Outbound>> byShard) : IPreparedMessages
    {
        public Task ProduceAsync(IReadOnlySet<string> shards) =>
            publisher.ProduceAsync(byShard.Where(s => shards.Contains(s.Key)).SelectMany(s => s.Value));
    }
}
