using MicroMoments.Stream.Benchmarks;

namespace MicroMoments.Stream.Benchmarks.Tests;

/// <summary>
/// The Kafka Streams peer and the worker with the two headline rules, on the same fixed events (the embedded broker and
/// a redis-server child process, as the benchmark runs them): the same commands, and the ones the scripts call for.
/// </summary>
public sealed class PeerEqualityTests
{
    [Fact]
    public async Task HeadlineRules_FixedEvents_PeerAndWorkerGiveTheSameCommands()
    {
        using var infra = BenchInfrastructure.Start(useGarnet: false);

        EqualityResult result;
        try
        {
            result = await PeerEquality.RunAsync(infra, $"eq-{Guid.NewGuid():N}"[..11]);
        }
        finally
        {
            PeerUnderTest.DeleteStateRoot();
        }

        Assert.True(result.Equal, string.Join("\n", result.Differences().Take(20)));
        Assert.Equal(result.Expected.OrderBy(c => c), result.Peer.OrderBy(c => c));
        Assert.Contains(result.Peer, c => c.Rule == HeadlineRulesTransformer.CartRule);
        Assert.Contains(result.Peer, c => c.Rule == HeadlineRulesTransformer.CountRule);
    }
}
