using Confluent.Kafka;
using MicroMoments.Stream.Kafka;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>
/// Keeps a producer at most <c>maxLead</c> records ahead of the worker group on every partition of a topic.
/// A broker with small retention (the embedded one keeps about 5 MiB per partition) deletes what nobody has
/// read once a producer outruns the worker; the worker would report the gap, but the records would be gone.
/// Reads the group's committed offsets without joining the group.
/// </summary>
public sealed class LeadLimiter(KafkaOptions options, string topic, int maxLead, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private IConsumer<Ignore, Ignore>? _offsets;

    /// <summary>How often, in records produced, the lead is checked.</summary>
    public int CheckEvery => Math.Max(1, maxLead / 10);

    /// <summary>Waits while any partition is more than maxLead records ahead of the group's committed offset.</summary>
    public async Task WaitAsync(IProducer<string, string> producer, CancellationToken ct)
    {
        if (maxLead <= 0)
        {
            return;
        }
        producer.Flush(ct);
        while (!ct.IsCancellationRequested && Lead(producer) > maxLead)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct);
        }
    }

    /// <summary>The largest distance, in records, between a partition's end and the group's committed offset.</summary>
    public long Lead(IProducer<string, string> producer)
    {
        using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
        var partitions = admin.GetMetadata(topic, Timeout).Topics.SingleOrDefault()?.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList() ?? [];
        if (partitions.Count == 0)
        {
            return 0;
        }
        _offsets ??= new ConsumerBuilder<Ignore, Ignore>(KafkaClientConfigs.Consumer(options, "micromoments-lead-limiter")).Build();
        long lead = 0;
        foreach (var c in _offsets.Committed(partitions, Timeout))
        {
            var marks = _offsets.QueryWatermarkOffsets(c.TopicPartition, Timeout);
            var from = c.Offset.IsSpecial ? marks.Low.Value : c.Offset.Value;
            lead = Math.Max(lead, marks.High.Value - from);
        }
        return lead;
    }

    public void Dispose() => _offsets?.Dispose();
}
