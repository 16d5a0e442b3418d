using System.Text;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Issue 11, item 5: how <c>simulate</c> (and the fuzz and property harnesses) split an events file.</summary>
public sealed class NdjsonLinesTests
{
    private static List<(long Number, string Text)> Read(byte[] file) =>
        [.. NdjsonLines.Read(file).Select(l => (l.Number, Encoding.Latin1.GetString(l.Bytes.Span)))];

    [Fact]
    public void Item5_NdjsonLines_CrLfBomAndBlankLines_NumberedAsInTheFile()
    {
        var file = Encoding.UTF8.GetBytes("\uFEFFa\r\n\r\n \t\nb\n\nc");

        Assert.Equal([(1, "a"), (4, "b"), (6, "c")], Read(file));
    }

    [Fact]
    public void Item5_NdjsonLines_Utf16BomOrInvalidBytesOnOneLine_OtherLinesUnchanged()
    {
        // As bytes, FF FE is just this line's content: the parser refuses it, and the lines after it are read as UTF-8.
        byte[] file = [0xFF, 0xFE, (byte)'x', (byte)'\n', (byte)'{', 0xC3, (byte)'}', (byte)'\n', (byte)'o', (byte)'k', (byte)'\n'];

        Assert.Equal([(1, "\u00FF\u00FEx"), (2, "{\u00C3}"), (3, "ok")], Read(file));
    }

    [Fact]
    public void Item5_NdjsonLines_EmptyOrOnlyBom_NoLines()
    {
        Assert.Empty(Read([]));
        Assert.Empty(Read([0xEF, 0xBB, 0xBF]));
        Assert.Empty(Read("\n\n"u8.ToArray()));
    }
}
