using MicroMoments.Stream.Core.Pipeline;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class CommitSlotTests
{
    private readonly List<string> _calls = [];
    private readonly Offsets _offsets;
    private readonly RetryingGate _gate = new();

    public CommitSlotTests() => _offsets = new Offsets(_calls);

    private sealed class Offsets(List<string> calls) : IOffsetStore
    {
        public void Store(BatchPositions positions) => calls.AddRange(positions.Next.Select(p => $"store {p.Key.Partition}@{p.Value}"));
    }

    /// <summary>Retries a failed stage at once, as the outage gate does once the store answers again.</summary>
    private sealed class RetryingGate : IStoreOutageGate
    {
        public int Retries { get; private set; }

        public async Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null)
        {
            try
            {
                await (started ?? stage());
            }
            catch (TimeoutException)
            {
                Retries++;
                await stage();
            }
        }
    }

    private static BatchPositions At(long offset) => BatchPositions.Of([Record("u", "Ping", T0, offset)]);

    [Fact]
    public async Task CompleteAsync_CommitInFlight_OffsetsStoredOnlyAfterItsMessages()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var io = new ScriptedCommit(_calls, "s:0");

        slot.Start(new BatchCommit(io, io, At(4)));
        await slot.CompleteAsync(CancellationToken.None);

        Assert.Equal(["save", "produce s:0", "clear s:0", "store 0@5"], _calls);
        Assert.False(slot.IsBusy);
    }

    [Fact]
    public async Task CompleteAsync_StoreFailedMeanwhile_GateRetriesThenOffsetsStored()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var io = new ScriptedCommit(_calls, "s:0") { FailSaves = 1 };

        slot.Start(new BatchCommit(io, io, At(1)));
        await slot.CompleteAsync(CancellationToken.None);

        Assert.Equal(1, _gate.Retries);
        Assert.Equal("store 0@2", _calls[^1]);
    }

    [Fact]
    public void Start_WhileBusy_Refused()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var io = new ScriptedCommit(_calls, "s:0");
        slot.Start(new BatchCommit(io, io, At(1)));

        Assert.Throws<InvalidOperationException>(() => slot.Start(new BatchCommit(io, io, At(2))));
    }

    [Fact]
    public void SettleBeforeRevoke_CommitDone_OffsetsStoredAndSlotFree()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var io = new ScriptedCommit(_calls, "s:0");
        slot.Start(new BatchCommit(io, io, At(8)));

        slot.SettleBeforeRevoke(TimeSpan.FromSeconds(10));

        Assert.Equal("store 0@9", _calls[^1]);
        Assert.False(slot.IsBusy);
    }

    [Fact]
    public async Task SettleBeforeRevoke_CommitFailed_LeftForCompleteAsync()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var io = new ScriptedCommit(_calls, "s:0") { FailSaves = 1 };
        slot.Start(new BatchCommit(io, io, At(8)));

        slot.SettleBeforeRevoke(TimeSpan.FromSeconds(10));

        Assert.True(slot.IsBusy);
        Assert.DoesNotContain(_calls, c => c.StartsWith("store", StringComparison.Ordinal));
        await slot.CompleteAsync(CancellationToken.None);
        Assert.Equal("store 0@9", _calls[^1]);
    }

    [Fact]
    public async Task SettleBeforeRevoke_LastClearStillRunning_WaitsForIt()
    {
        var slot = new CommitSlot(_gate, _offsets);
        var clearing = new TaskCompletionSource();
        var io = new ScriptedCommit(_calls, "s:0") { Clearing = clearing.Task };
        slot.Start(new BatchCommit(io, io, At(4)));
        await slot.CompleteAsync(CancellationToken.None); // done once acked: the clear still runs

        var settle = new Thread(() => slot.SettleBeforeRevoke(TimeSpan.FromMinutes(5)));
        settle.Start();
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while ((settle.ThreadState & ThreadState.WaitSleepJoin) == 0 && settle.IsAlive && DateTime.UtcNow < deadline)
        {
            Thread.Yield(); // until the revoke blocks on the clear
        }
        var blocked = settle.IsAlive;
        clearing.SetResult();

        Assert.True(settle.Join(TimeSpan.FromMinutes(1)));
        Assert.True(blocked);
        Assert.Equal(["save", "produce s:0", "clear s:0", "store 0@5"], _calls);
    }
}
