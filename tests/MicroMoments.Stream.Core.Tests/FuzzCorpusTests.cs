using MicroMoments.Stream.Fuzz;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Replays every seed of the fuzz corpus (tests/MicroMoments.Stream.Fuzz/corpus) through the fuzz targets' code,
/// so the corpus, and every crash the fuzzer saves into it, is a regression suite: no exception, no hang.
/// </summary>
public sealed class FuzzCorpusTests
{
    /// <summary>Generous for a loaded 2-core machine; the seeds take well under a second each.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Events() => Seeds("events");

    public static TheoryData<string> Rules() => Seeds("rules");

    public static TheoryData<string> States() => Seeds("state");

    [Theory]
    [MemberData(nameof(Events))]
    public void Corpus_EventsSeed_ParsedAndAppliedWithoutErrorOrHang(string seed) => Replay(seed);

    [Theory]
    [MemberData(nameof(Rules))]
    public void Corpus_RulesSeed_LoadedOrRefusedWithoutErrorOrHang(string seed) => Replay(seed);

    [Theory]
    [MemberData(nameof(States))]
    public void Corpus_StateSeed_ReadOrUnreadableWithoutOtherError(string seed) => Replay(seed);

    private static void Replay(string seed)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", seed));
        var run = Task.Run(() =>
        {
            switch (seed[..seed.IndexOf('/', StringComparison.Ordinal)])
            {
                case "rules":
                    FuzzTargets.Rules(bytes);
                    break;
                case "state":
                    FuzzTargets.State(bytes);
                    break;
                default:
                    FuzzTargets.Events(bytes);
                    break;
            }
        });
        Assert.True(run.Wait(Deadline), $"{seed} took longer than {Deadline.TotalSeconds} s");
    }

    private static TheoryData<string> Seeds(string target)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", target)).Order(StringComparer.Ordinal))
        {
            data.Add($"{target}/{Path.GetFileName(file)}");
        }
        return data;
    }
}
