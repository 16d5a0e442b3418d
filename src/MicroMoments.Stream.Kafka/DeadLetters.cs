using System.Globalization;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Builds dead-letter records: the original key and value byte for byte, with the reason in headers, cut to fit the
/// producer's message limit when they would not (docs/wire-formats.md, "Dead letters").
/// </summary>
public static class DeadLetters
{
    public const string ReasonHeader = "mm.error.reason";
    public const string MessageHeader = "mm.error.message";
    public const string TopicHeader = "mm.source.topic";
    public const string PartitionHeader = "mm.source.partition";
    public const string OffsetHeader = "mm.source.offset";
    public const string TimestampHeader = "mm.source.timestamp";

    /// <summary>Set only when the value was cut to fit <see cref="MaxBytes"/>: the original value's length in bytes.</summary>
    public const string TruncatedHeader = "mm.error.truncated";

    /// <summary>Set only when the key was cut (the key and headers alone did not fit): the original key's length in bytes.</summary>
    public const string KeyTruncatedHeader = "mm.error.key.truncated";

    /// <summary>Set only when the original headers were left out (they alone did not fit): how many there were.</summary>
    public const string HeadersDroppedHeader = "mm.error.headers.dropped";

    /// <summary>
    /// Prefixed to an original header whose name starts with <c>mm.</c>: only the worker writes <c>mm.*</c> headers on a
    /// dead letter, so a record that came with a forged <c>mm.error.reason</c> cannot pass it off as the worker's.
    /// </summary>
    public const string InboundPrefix = "inbound.";

    /// <summary>
    /// The most bytes a dead letter's key, value and headers add up to: below the worker producer's 1 MiB
    /// (<see cref="KafkaClientConfigs.WorkerMessageMaxBytes"/>), with room for the record's own overhead.
    /// </summary>
    public const int MaxBytes = 1_000_000;

    /// <summary>What a dead letter the broker still refused is cut to: its headers and the first bytes of its key, no value.</summary>
    public const int MinimalBytes = 16 * 1024;

    /// <summary>
    /// Per header, on top of its name and value: librdkafka counts the length prefixes too. Generous, so that a
    /// record with thousands of tiny headers still fits.
    /// </summary>
    private const int HeaderOverhead = 12;

    /// <summary>Room kept for the headers that say what was cut.</summary>
    private const int NoteRoom = 256;

    public static Message<byte[]?, byte[]?> Create(ConsumeResult<byte[]?, byte[]?> source, string reason, string message) =>
        Create(ConsumedRecord.ToSource(source), reason, message);

    /// <summary>An inbound record the worker cannot apply.</summary>
    public static Message<byte[]?, byte[]?> Create(SourceRecord source, string reason, string message)
    {
        ArgumentNullException.ThrowIfNull(source);
        var own = Own(reason, message, source.Topic, source.Partition, source.Offset, source.Timestamp.ToString("O", CultureInfo.InvariantCulture));
        return Fit(source.Key, source.Value, own, Inbound((source.Headers ?? []).Select(h => (h.Key, h.Value ?? []))), MaxBytes);
    }

    /// <summary>
    /// A message of the worker's own (a command, a cancellation, a decision) that the broker refused or that is over its
    /// budget: the message as it was, with <c>mm.source.topic</c> the topic it was meant for and partition and offset -1.
    /// </summary>
    public static Message<byte[]?, byte[]?> ForRefused(string topic, Message<byte[]?, byte[]?> refused, string reason, string message, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(refused);
        var own = Own(reason, message, topic, -1, -1, at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        return Fit(refused.Key, refused.Value, own, Inbound(Pairs(refused.Headers)), MaxBytes);
    }

    /// <summary>
    /// A dead letter the broker refused even so (a topic whose own limit is below the worker's), cut to
    /// <see cref="MinimalBytes"/>: the worker's headers, the first bytes of the key, and no value.
    /// </summary>
    public static Message<byte[]?, byte[]?> Minimal(Message<byte[]?, byte[]?> deadLetter)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        var headers = Pairs(deadLetter.Headers);
        var own = headers.Where(h => IsOwn(h.Name) && h.Name != TruncatedHeader).ToList();
        var inbound = headers.Where(h => !IsOwn(h.Name)).ToList();
        // The length the value had before any cut, not the length of the cut copy.
        var originalLength = headers.LastOrDefault(h => h.Name == TruncatedHeader).Value is { } t
            ? int.Parse(Encoding.UTF8.GetString(t), CultureInfo.InvariantCulture)
            : deadLetter.Value?.Length ?? 0;
        var fitted = Fit(deadLetter.Key, [], own, inbound, MinimalBytes);
        if (originalLength > 0)
        {
            fitted.Headers.Add(TruncatedHeader, Number(originalLength));
        }
        return fitted;
    }

    public static string? Header(Headers headers, string name) =>
        headers.TryGetLastBytes(name, out var b) ? Encoding.UTF8.GetString(b) : null;

    private static bool IsOwn(string name) => name.StartsWith("mm.", StringComparison.OrdinalIgnoreCase);

    private static List<(string Name, byte[] Value)> Own(string reason, string message, string topic, int partition, long offset, string timestamp) =>
    [
        (ReasonHeader, Encoding.UTF8.GetBytes(reason)),
        (MessageHeader, Encoding.UTF8.GetBytes(message.Length > 2000 ? message[..2000] : message)),
        (TopicHeader, Encoding.UTF8.GetBytes(topic)),
        (PartitionHeader, Number(partition)),
        (OffsetHeader, Number(offset)),
        (TimestampHeader, Encoding.UTF8.GetBytes(timestamp)),
    ];

    /// <summary>The original headers, after the worker's: <c>mm.*</c> ones renamed <c>inbound.mm.*</c>.</summary>
    private static List<(string Name, byte[] Value)> Inbound(IEnumerable<(string Name, byte[] Value)> headers) =>
        [.. headers.Select(h => (IsOwn(h.Name) ? InboundPrefix + h.Name : h.Name, h.Value))];

    private static List<(string Name, byte[] Value)> Pairs(Headers? headers) =>
        headers is null ? [] : [.. headers.Select(h => (h.Key, h.GetValueBytes() ?? []))];

    private static byte[] Number(long n) => Encoding.UTF8.GetBytes(n.ToString(CultureInfo.InvariantCulture));

    private static long SizeOf(List<(string Name, byte[] Value)> headers) =>
        headers.Sum(h => (long)Encoding.UTF8.GetByteCount(h.Name) + h.Value.Length + HeaderOverhead);

    /// <summary>
    /// Key, value and headers within <paramref name="maxBytes"/>: the value is cut first; when the key and the headers
    /// alone do not fit, the original headers are left out and the key cut too. Each cut is named in a header.
    /// </summary>
    private static Message<byte[]?, byte[]?> Fit(byte[]? key, byte[]? value, List<(string Name, byte[] Value)> own,
        List<(string Name, byte[] Value)> inbound, int maxBytes)
    {
        var keyLength = key?.Length ?? 0;
        if (keyLength + (value?.Length ?? 0) + SizeOf(own) + SizeOf(inbound) > maxBytes)
        {
            if (keyLength + SizeOf(own) + SizeOf(inbound) + NoteRoom > maxBytes)
            {
                if (inbound.Count > 0)
                {
                    own.Add((HeadersDroppedHeader, Number(inbound.Count)));
                    inbound = [];
                }
                var keyRoom = (maxBytes - SizeOf(own) - NoteRoom) / 2;
                if (keyLength > keyRoom)
                {
                    own.Add((KeyTruncatedHeader, Number(keyLength)));
                    key = key![..(int)Math.Max(0, keyRoom)];
                }
            }
            var valueRoom = Math.Max(0, maxBytes - (key?.Length ?? 0) - SizeOf(own) - SizeOf(inbound) - NoteRoom);
            if (value is not null && value.Length > valueRoom)
            {
                own.Add((TruncatedHeader, Number(value.Length)));
                value = value[..(int)valueRoom];
            }
        }
        var headers = new Headers();
        foreach (var (name, bytes) in own.Concat(inbound))
        {
            headers.Add(name, bytes);
        }
        return new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers };
    }
}
