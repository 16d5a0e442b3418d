using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

/// <summary>A scripted store and producer, writing down the order of the calls.</summary>
internal sealed class ScriptedCommit(List<string> calls, params string[] written) : IPreparedState, IPreparedMessages
{
    public int FailSaves { get; set; }
    public int FailProduces { get; set; }

    public Task<IReadOnlySet<string>> SaveAsync(CancellationToken ct)
    {
        calls.Add("save");
        return FailSaves-- > 0 ? Task.FromException<IReadOnlySet<string>>(new TimeoutException("store down")) : Task.FromResult<IReadOnlySet<string>>(written.ToHashSet());
    }

    /// <summary>What the clear returns: completed unless a test holds it.</summary>
    public Task Clearing { get; set; } = Task.CompletedTask;

    public Task ClearOutboxesAsync(IReadOnlySet<string> shards, CancellationToken ct)
    {
        calls.Add("clear " + string.Join(",", shards.Order()));
        return Clearing;
    }

    public Task ProduceAsync(IReadOnlySet<string> shards)
    {
        calls.Add("produce " + string.Join(",", shards.Order()));
        return FailProduces-- > 0 ? Task.FromException(new TimeoutException("broker down")) : Task.CompletedTask;
    }
}

public sealed class BatchCommitTests
{
    private readonly List<string> _calls = [];

    [Fact]
    public async Task RunAsync_ShardFencedOff_ItsMessagesNotProduced()
    {
        var io = new ScriptedCommit(_calls, "s:0");

        await new BatchCommit(io, io, BatchPositions.None).RunAsync();

        Assert.Equal(["save", "produce s:0", "clear s:0"], _calls);
    }

    [Fact]
    public async Task RunAsync_AgainAfterSaveFailed_GoesOnFromTheSave()
    {
        var io = new ScriptedCommit(_calls, "s:0") { FailSaves = 1 };
        var commit = new BatchCommit(io, io, BatchPositions.None).Start();

        await Assert.ThrowsAsync<TimeoutException>(() => commit.Task);
        await commit.RunAsync();

        Assert.Equal(["save", "save", "produce s:0", "clear s:0"], _calls);
    }

    [Fact]
    public async Task RunAsync_AgainAfterProduceFailed_StateNotWrittenTwice()
    {
        var io = new ScriptedCommit(_calls, "s:0") { FailProduces = 1 };
        var commit = new BatchCommit(io, io, BatchPositions.None);

        await Assert.ThrowsAsync<TimeoutException>(commit.RunAsync);
        await commit.RunAsync();

        Assert.Equal(["save", "produce s:0", "produce s:0", "clear s:0"], _calls);
    }

    [Fact]
    public async Task RunAsync_ClearStillRunning_CommitDoneOnceEveryMessageIsAcked()
    {
        var clearing = new TaskCompletionSource();
        var io = new ScriptedCommit(_calls, "s:0") { Clearing = clearing.Task };
        var commit = new BatchCommit(io, io, BatchPositions.None).Start();

        await commit.Task; // would never end if the commit waited for the clear

        Assert.Equal(["save", "produce s:0", "clear s:0"], _calls);
        Assert.False(commit.Cleanup.IsCompleted);
        clearing.SetResult();
        await commit.Cleanup;
    }
}
