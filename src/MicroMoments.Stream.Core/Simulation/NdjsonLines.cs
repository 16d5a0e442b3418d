namespace MicroMoments.Stream.Core.Simulation;

/// <summary>One line of an NDJSON file as <c>simulate</c> feeds it: its 1-based number and its bytes.</summary>
public readonly record struct NdjsonLine(long Number, ReadOnlyMemory<byte> Bytes);

/// <summary>
/// How <c>simulate</c> splits an events file into records. Bytes, not text: each line's bytes are checked exactly as
/// the worker checks a Kafka record's, so a line that is not valid UTF-8 is refused, not decoded to U+FFFD, and a
/// byte-order mark or stray UTF-16 bytes on one line cannot change how the other lines are read.
/// </summary>
public static class NdjsonLines
{
    /// <summary>
    /// The non-blank lines of <paramref name="file"/>: split at \n, without a trailing \r, and without a leading UTF-8
    /// byte-order mark. Blank lines (spaces, tabs, \r, \f, \v only) are skipped but keep their number.
    /// </summary>
    public static IEnumerable<NdjsonLine> Read(ReadOnlyMemory<byte> file)
    {
        var start = file.Span.StartsWith("\uFEFF"u8) ? 3 : 0;
        long number = 0;
        while (start < file.Length)
        {
            number++;
            var rest = file[start..];
            var end = rest.Span.IndexOf((byte)'\n');
            var next = end < 0 ? file.Length : start + end + 1;
            var line = end < 0 ? rest : rest[..end];
            if (!line.IsEmpty && line.Span[^1] == '\r')
            {
                line = line[..^1];
            }
            if (!IsBlank(line.Span))
            {
                yield return new NdjsonLine(number, line);
            }
            start = next;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r\f\v"u8).IsEmpty;
}
