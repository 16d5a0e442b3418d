using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Kafka;

/// <summary>Turns a Kafka record into the stages' <see cref="SourceRecord"/>: the last place a consumed record is a Confluent type.</summary>
public static class ConsumedRecord
{
    public static SourceRecord ToSource(ConsumeResult<byte[]?, byte[]?> r)
    {
        List<KeyValuePair<string, byte[]?>>? headers = null;
        if (r.Message.Headers is { Count: > 0 } h)
        {
            headers = new List<KeyValuePair<string, byte[]?>>(h.Count);
            foreach (var header in h)
            {
                headers.Add(new(header.Key, header.GetValueBytes()));
            }
        }
        return new SourceRecord(r.Topic, r.Partition.Value, r.Offset.Value, r.Message.Timestamp.UtcDateTime, r.Message.Key, r.Message.Value, headers);
    }
}
