using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Turns a batch's commands, decisions and dead letters into Kafka messages (per shard, for the outbox),
/// produces them and waits until Kafka acknowledges every one, and re-sends what a crashed owner's outbox
/// holds but the output topic does not.
/// </summary>
public sealed class InterventionPublisher(
    IProducer<byte[]?, byte[]?> producer,
    IOptions<KafkaOptions> options,
    PipelineTelemetry telemetry,
    ILogger<InterventionPublisher> logger)
{
    private static readonly byte[] CloudEventContentType = Encoding.UTF8.GetBytes(InterventionCloudEvents.ContentType);
    private static readonly JsonSerializerOptions DecisionJson = InterventionCloudEvents.DataOptions;
    private readonly KafkaOptions _options = options.Value;
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
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ReaderConfig()).Build();
            foreach (var (tp, marks) in OutputWatermarks(consumer))
            {
                Advance(tp.Partition.Value, marks.High.Value);
            }
        }
        catch (KafkaException ex)
        {
            Log.OutputOffsetsUnknown(logger, ex.Error.Reason);
        }
    }

    /// <summary>The messages of a batch, grouped by the shard whose state they come from.</summary>
    public Dictionary<string, List<Outbound>> Build(BatchWork work)
    {
        // Counted whether or not anything is produced: a batch of suppressions alone still has decisions.
        telemetry.RuleOutcomes(work);
        foreach (var (_, decision) in work.Decisions)
        {
            telemetry.Decided(decision);
        }
        var byShard = new Dictionary<string, List<Outbound>>(StringComparer.Ordinal);
        List<Outbound> Of(string shard) => byShard.TryGetValue(shard, out var list) ? list : byShard[shard] = [];
        foreach (var (shard, command, parent) in work.Interventions)
        {
            using var activity = PipelineTelemetry.Source.StartActivity("publish intervention", ActivityKind.Producer, parent);
            activity?.SetTag("messaging.destination.name", _options.OutputTopic);
            activity?.SetTag("micromoments.rule", command.RuleId);
            activity?.SetTag("micromoments.intervention_id", command.InterventionId);
            var headers = new Headers { { "content-type", CloudEventContentType } };
            var traceparent = activity?.Id ?? (parent != default ? TraceParent(parent) : null);
            if (traceparent is not null)
            {
                headers.Add("traceparent", Encoding.UTF8.GetBytes(traceparent));
            }
            Of(shard).Add(new Outbound(_options.OutputTopic, new Message<byte[]?, byte[]?>
            {
                Key = Encoding.UTF8.GetBytes(command.UserId),
                Value = InterventionCloudEvents.Encode(command),
                Headers = headers,
            }, command.InterventionId, command));
        }
        if (!string.IsNullOrEmpty(_options.DecisionTopic))
        {
            foreach (var (shard, decision) in work.Decisions)
            {
                Of(shard).Add(new Outbound(_options.DecisionTopic, new Message<byte[]?, byte[]?>
                {
                    Key = Encoding.UTF8.GetBytes(decision.UserId),
                    Value = JsonSerializer.SerializeToUtf8Bytes(decision, DecisionJson),
                }, null));
            }
        }
        foreach (var (shard, message, reason) in work.DeadLetters)
        {
            Of(shard).Add(new Outbound(_options.DeadLetterTopic, message, null, DeadLetterReason: reason));
        }
        return byShard;
    }

    /// <summary>The outbox of one shard's messages, with where each output partition ends as far as this instance knows.</summary>
    public byte[] Encode(List<Outbound> messages)
    {
        lock (_boundsLock)
        {
            return Outbox.Encode(_bounds, messages);
        }
    }

    /// <summary>Produces the messages and returns once Kafka acknowledged every one.</summary>
    public async Task ProduceAsync(IEnumerable<Outbound> messages)
    {
        var acks = new List<Task>();
        foreach (var m in messages)
        {
            var ack = producer.ProduceAsync(m.Topic, m.Message);
            if (m.InterventionId is not null)
            {
                acks.Add(Track(ack));
            }
            else
            {
                acks.Add(ack);
            }
            if (m.Command is not null)
            {
                telemetry.Emitted(m.Command);
            }
            if (m.DeadLetterReason is not null)
            {
                telemetry.DeadLetter(m.DeadLetterReason);
            }
        }
        await Task.WhenAll(acks);
    }

    /// <summary>
    /// Re-sends a crashed owner's outbox: the output topic is read from the recorded offsets to its end, and
    /// only the commands not found there are produced again; decisions and dead letters are re-sent as they
    /// are (at least once). Returns how many commands Kafka already had and how many were re-sent.
    /// </summary>
    public async Task<(int Found, int Resent)> RecoverAsync(byte[] outbox, CancellationToken ct)
    {
        var (bounds, messages) = Outbox.Decode(outbox);
        var commands = messages.Where(m => m.InterventionId is not null).ToList();
        var present = commands.Count == 0 ? [] : ReadProducedIds(bounds, commands.Select(c => c.InterventionId!).ToHashSet(StringComparer.Ordinal), ct);
        var resend = messages.Where(m => m.InterventionId is null || !present.Contains(m.InterventionId)).ToList();
        await ProduceAsync(resend);
        return (present.Count, resend.Count(m => m.InterventionId is not null));
    }

    /// <summary>Which of the wanted command ids are in the output topic, reading each partition from its bound to its current end.</summary>
    private HashSet<string> ReadProducedIds(Dictionary<int, long> bounds, HashSet<string> wanted, CancellationToken ct)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ReaderConfig()).Build();
        var ends = new Dictionary<TopicPartition, long>();
        var starts = new List<TopicPartitionOffset>();
        foreach (var (tp, marks) in OutputWatermarks(consumer))
        {
            var from = Math.Max(bounds.GetValueOrDefault(tp.Partition.Value), marks.Low.Value);
            if (from < marks.High.Value)
            {
                ends[tp] = marks.High.Value;
                starts.Add(new TopicPartitionOffset(tp, from));
            }
        }
        consumer.Assign(starts);
        var elapsed = Stopwatch.StartNew();
        while (ends.Count > 0 && found.Count < wanted.Count)
        {
            ct.ThrowIfCancellationRequested();
            if (elapsed.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"reading back {_options.OutputTopic} to recover an outbox took over 2 minutes");
            }
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is not null && r.Message.Value is { } value && InterventionCloudEvents.ReadId(value) is { } id && wanted.Contains(id))
            {
                found.Add(id);
            }
            foreach (var tp in ends.Keys.ToList())
            {
                var position = consumer.Position(tp);
                if (position != Offset.Unset && position.Value >= ends[tp])
                {
                    ends.Remove(tp);
                }
            }
        }
        return found;
    }

    /// <summary>Each partition of the output topic with its low and high watermarks now; none when the topic's metadata has an error.</summary>
    private Dictionary<TopicPartition, WatermarkOffsets> OutputWatermarks(IConsumer<byte[]?, byte[]?> consumer)
    {
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        var topic = admin.GetMetadata(_options.OutputTopic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault();
        return topic is null || topic.Error.IsError
            ? []
            : topic.Partitions.Select(p => new TopicPartition(_options.OutputTopic, p.PartitionId))
                .ToDictionary(tp => tp, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)));
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

    private ConsumerConfig ReaderConfig()
    {
        var config = KafkaClientConfigs.Consumer(_options);
        config.GroupId = $"{_options.GroupId}.outbox-reader";
        config.EnableAutoCommit = false;
        config.IsolationLevel = IsolationLevel.ReadUncommitted;
        return config;
    }

    private static string TraceParent(ActivityContext c) =>
        $"00-{c.TraceId.ToHexString()}-{c.SpanId.ToHexString()}-{((c.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}
