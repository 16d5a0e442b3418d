using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Configuration section <c>MicroMoments:Segments</c>: the learned segments file <c>user.cluster</c> is assigned from.</summary>
public sealed class SegmentsOptions
{
    public const string SectionName = "MicroMoments:Segments";

    /// <summary>The configuration key of <see cref="Path"/>, as errors name it.</summary>
    public const string PathKey = SectionName + ":Path";

    /// <summary>A segments file written by <c>segment --out</c>; empty: none, and <c>user.cluster</c> is empty.</summary>
    public string? Path { get; set; }

    public bool IsSet => !string.IsNullOrWhiteSpace(Path);

    /// <summary>
    /// Reads and checks a segments file; the reasons it is refused go in <paramref name="errors"/>. Read as a regular file only,
    /// as the rules file is (<see cref="RegularFile"/>): a FIFO at the path never blocks a reload.
    /// </summary>
    public static SegmentModel? TryLoad(string path, List<string> errors)
    {
        try
        {
            return SegmentsFile.TryRead(RegularFile.ReadAllBytes(path, SegmentsFile.MaxBytes), errors);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add(ex.Message);
            return null;
        }
    }
}
