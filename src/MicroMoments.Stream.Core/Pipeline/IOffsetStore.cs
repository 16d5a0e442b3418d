namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Stage 7, commit: records how far the partitions are done, once a batch's state and messages are safe.</summary>
public interface IOffsetStore
{
    void Store(BatchPositions positions);
}
