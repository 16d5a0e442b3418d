using MicroMoments.Stream.Core.Pipeline;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class BatchPositionsTests
{
    [Fact]
    public void Of_RecordsOfTwoPartitions_OnePastTheLastOffsetOfEach()
    {
        var positions = BatchPositions.Of([Record("a", "Ping", T0, 5), Record("b", "Ping", T0, 9, partition: 1), Record("c", "Ping", T0, 6)]);

        Assert.Equal(7, positions.Next[(Topic, 0)]);
        Assert.Equal(10, positions.Next[(Topic, 1)]);
    }

    [Fact]
    public void None_TimerCheck_NoOffsets() => Assert.Empty(BatchPositions.None.Next);
}
