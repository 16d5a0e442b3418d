namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The offsets a batch moves its partitions to once it is committed: per partition, one past the last record
/// consumed. A timer check has none.
/// </summary>
public sealed class BatchPositions
{
    public static readonly BatchPositions None = new([]);

    private BatchPositions(Dictionary<(string Topic, int Partition), long> next) => Next = next;

    /// <summary>Per partition, the offset of the next record to read.</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> Next { get; }

    public static BatchPositions Of(IReadOnlyList<SourceRecord> records)
    {
        var next = new Dictionary<(string Topic, int Partition), long>();
        foreach (var r in records)
        {
            if (r.Offset + 1 > next.GetValueOrDefault((r.Topic, r.Partition)))
            {
                next[(r.Topic, r.Partition)] = r.Offset + 1;
            }
        }
        return new BatchPositions(next);
    }
}
