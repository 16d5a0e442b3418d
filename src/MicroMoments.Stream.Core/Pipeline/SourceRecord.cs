namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// One consumed input record as the stages see it: where it came from and its bytes, with no broker client type,
/// so parsing and dead-lettering are testable without Kafka.
/// </summary>
/// <remarks>Headers are in order (a name may repeat), or null when the record has none.</remarks>
public sealed record SourceRecord(string Topic, int Partition, long Offset, DateTime Timestamp, byte[]? Key, byte[]? Value,
    IReadOnlyList<KeyValuePair<string, byte[]?>>? Headers = null)
{
    /// <summary>The value of the last header of that name, as Kafka clients read a repeated header.</summary>
    public byte[]? LastHeader(string name)
    {
        if (Headers is null)
        {
            return null;
        }
        for (var i = Headers.Count - 1; i >= 0; i--)
        {
            if (Headers[i].Key == name)
            {
                return Headers[i].Value;
            }
        }
        return null;
    }
}
