using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

public sealed class StateWriterTests
{
    /// <summary>A length-prefixed part keeps one byte for its length and moves up only when the length needs more.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(16_383)]
    [InlineData(16_384)]
    [InlineData(70_000)]
    public void LengthPrefixedPart_ReadsBackWithItsLength(int size)
    {
        var w = new StateWriter();
        w.Reset(namesInHeader: false);
        w.Byte(0xAA);
        var start = w.BeginLengthPrefixed();
        for (var i = 0; i < size; i++)
        {
            w.Byte((byte)i);
        }
        w.EndLengthPrefixed(start);
        w.Byte(0xBB);

        var r = new StateReader(w.Written);
        Assert.Equal(0xAA, r.Byte());
        Assert.Equal((ulong)size, r.VarUInt());
        var part = r.Bytes(size);
        Assert.True(part.SequenceEqual(Enumerable.Range(0, size).Select(i => (byte)i).ToArray()));
        Assert.Equal(0xBB, r.Byte());
        Assert.True(r.AtEnd);
    }
}
