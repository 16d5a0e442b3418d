using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Stage 6, publish: produces a batch's messages and waits until Kafka acknowledged or dead-lettered every one. It also
/// keeps, per output partition, an offset no later than where the next command can land: the bound written into each outbox.
/// </summary>
/// <remarks>
/// A message the broker refuses for itself (<see cref="ProduceRefusals.IsPermanent"/>: too large, invalid) is
/// dead-lettered with the reason and the batch goes on: stopping would leave it in the outbox, and the next start would
/// send it again and stop again. A dead letter refused in turn is cut to <see cref="DeadLetters.Minimal"/>, and one refused
/// even then is logged and dropped. Any other error stops the worker as before: it is the broker's or the client's, and a
/// restart retries it.
/// </remarks>
public sealed class CommandPublisher(IProducer<byte[]?, byte[]?> producer, OutputTopicReader output, IPublishListener listener,
    IOptions<KafkaOptions> options, TimeProvider time, ILogger<CommandPublisher> logger)
{
    private readonly Dictionary<int, long> _bounds = [];
    private readonly Lock _boundsLock = new();
    private readonly KafkaOptions _options = options.Value;

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

    /// <summary>Produces the messages and returns once Kafka acknowledged every one, or its dead letter.</summary>
    public async Task ProduceAsync(IEnumerable<Outbound> messages)
    {
        var sends = new List<Task>();
        foreach (var m in messages)
        {
            // Each send hands its message to the producer before its first await, so they are queued in order.
            sends.Add(SendAsync(m));
        }
        await Task.WhenAll(sends);
    }

    private async Task SendAsync(Outbound m)
    {
        var ack = producer.ProduceAsync(m.Topic, m.Message);
        if (m.DeadLetterReason is not null)
        {
            listener.DeadLettered(m.DeadLetterReason);
        }
        DeliveryResult<byte[]?, byte[]?> result;
        try
        {
            result = await ack;
        }
        catch (ProduceException<byte[]?, byte[]?> ex) when (ProduceRefusals.IsPermanent(ex.Error.Code))
        {
            await RefusedAsync(m, ex.Error);
            return;
        }
        if (m.InterventionId is not null)
        {
            Advance(result.Partition.Value, result.Offset.Value + 1);
        }
        if (m.Command is not null)
        {
            listener.Emitted(m.Command);
        }
    }

    private async Task RefusedAsync(Outbound m, Error error)
    {
        var why = $"{error.Code}: {error.Reason}";
        if (m.Topic != _options.DeadLetterTopic)
        {
            var reason = ProduceRefusals.ReasonFor(m.Topic, error.Code, _options);
            KafkaLog.Refused(logger, m.Topic, m.InterventionId ?? "", m.Message.Value?.Length ?? 0, why, reason);
            await SendAsync(new Outbound(_options.DeadLetterTopic, DeadLetters.ForRefused(m.Topic, m.Message, reason, why, time.GetUtcNow()), null,
                DeadLetterReason: reason));
            return;
        }
        var minimal = DeadLetters.Minimal(m.Message);
        try
        {
            await producer.ProduceAsync(m.Topic, minimal);
            KafkaLog.DeadLetterCut(logger, m.Topic, DeadLetters.Header(minimal.Headers, DeadLetters.ReasonHeader) ?? "", why);
        }
        catch (ProduceException<byte[]?, byte[]?> ex) when (ProduceRefusals.IsPermanent(ex.Error.Code))
        {
            KafkaLog.DeadLetterDropped(logger, m.Topic, DeadLetters.Header(minimal.Headers, DeadLetters.ReasonHeader) ?? "",
                DeadLetters.Header(minimal.Headers, DeadLetters.TopicHeader) ?? "", DeadLetters.Header(minimal.Headers, DeadLetters.OffsetHeader) ?? "",
                $"{ex.Error.Code}: {ex.Error.Reason}");
        }
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
