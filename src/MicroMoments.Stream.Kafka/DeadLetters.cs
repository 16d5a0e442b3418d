using System.Globalization;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Kafka;

/// <summary>Builds dead-letter records: the original key and value byte for byte, with the reason in headers (docs/wire-formats.md, "Dead letters").</summary>
public static class DeadLetters
{
    public const string ReasonHeader = "mm.error.reason";
    public const string MessageHeader = "mm.error.message";
    public const string TopicHeader = "mm.source.topic";
    public const string PartitionHeader = "mm.source.partition";
    public const string OffsetHeader = "mm.source.offset";
    public const string TimestampHeader = "mm.source.timestamp";

    /// <summary>Set only when the value was cut to <see cref="MaxValueBytes"/>: the original value's length in bytes.</summary>
    public const string TruncatedHeader = "mm.error.truncated";

    /// <summary>
    /// The largest value copied byte for byte. A bigger one (only a broker without a 1 MiB limit delivers it) is
    /// cut to this length so its dead letter stays within the producer's message limit instead of failing the batch.
    /// </summary>
    public const int MaxValueBytes = 4 * 1024 * 1024;

    public static Message<byte[]?, byte[]?> Create(ConsumeResult<byte[]?, byte[]?> source, string reason, string message) =>
        Create(ConsumedRecord.ToSource(source), reason, message);

    public static Message<byte[]?, byte[]?> Create(SourceRecord source, string reason, string message)
    {
        var headers = new Headers();
        foreach (var (name, bytes) in source.Headers ?? [])
        {
            headers.Add(name, bytes);
        }
        headers.Add(ReasonHeader, Encoding.UTF8.GetBytes(reason));
        headers.Add(MessageHeader, Encoding.UTF8.GetBytes(message.Length > 2000 ? message[..2000] : message));
        headers.Add(TopicHeader, Encoding.UTF8.GetBytes(source.Topic));
        headers.Add(PartitionHeader, Encoding.UTF8.GetBytes(source.Partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add(OffsetHeader, Encoding.UTF8.GetBytes(source.Offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add(TimestampHeader, Encoding.UTF8.GetBytes(source.Timestamp.ToString("O", CultureInfo.InvariantCulture)));
        var value = source.Value;
        if (value is { Length: > MaxValueBytes })
        {
            headers.Add(TruncatedHeader, Encoding.UTF8.GetBytes(value.Length.ToString(CultureInfo.InvariantCulture)));
            value = value[..MaxValueBytes];
        }
        return new Message<byte[]?, byte[]?> { Key = source.Key, Value = value, Headers = headers };
    }

    public static string? Header(Headers headers, string name) =>
        headers.TryGetLastBytes(name, out var b) ? Encoding.UTF8.GetString(b) : null;
}
