namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The one batch whose commit is in flight while the next batch is consumed, parsed, loaded and decided. Its offsets
/// are stored only once its commit completed; the next commit starts only after it, so shards are written in order.
/// </summary>
public sealed class CommitSlot(IStoreOutageGate gate, IOffsetStore offsets)
{
    private BatchCommit? _pending;

    // The outbox clears of the completed commits that may still be running (BatchCommit.Cleanup), chained: an earlier
    // clear, of a shard the later commits did not write, counts as much as the last.
    private Task _clearing = Task.CompletedTask;

    /// <summary>The commit in flight has completed: its offsets are stored, and its outbox clear joins the unfinished ones.</summary>
    private void Completed(BatchCommit commit)
    {
        _pending = null;
        offsets.Store(commit.Positions);
        _clearing = _clearing.IsCompleted ? commit.Cleanup : Task.WhenAll(_clearing, commit.Cleanup);
    }

    public bool IsBusy => _pending is not null;

    /// <summary>Starts a commit; the slot must be empty (<see cref="CompleteAsync"/> first).</summary>
    public void Start(BatchCommit commit)
    {
        if (_pending is not null)
        {
            throw new InvalidOperationException("a commit is already in flight");
        }
        _pending = commit.Start();
    }

    /// <summary>Waits for the commit in flight (going on from its snapshot if the store failed), then stores its offsets.</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        if (_pending is not { } p)
        {
            return;
        }
        _pending = null;
        await gate.RunAsync(p.RunAsync, ct, p.Task);
        Completed(p);
    }

    /// <summary>
    /// Lets the commit in flight finish before partitions go, so the next owner never races this instance's
    /// produce of an outbox it is recovering; its offsets are then committed with the revoke. Bounded: a
    /// commit stuck on a store outage is left to finish later (its writes to revoked shards are fenced off).
    /// </summary>
    public void SettleBeforeRevoke(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds; // one bound for both waits
        TimeSpan Left() => TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
        if (_pending is { } p)
        {
            try
            {
                p.Task.Wait(Left());
            }
            catch (AggregateException)
            {
                return; // CompleteAsync goes on from the failed step
            }
            if (!p.Task.IsCompletedSuccessfully)
            {
                return;
            }
            Completed(p);
        }
        // The next owner treats an outbox still there as a crash: it re-sends that batch's decisions and dead letters.
        // A normal handover should not, so the clears are given the rest of the time to land (they never throw).
        if (_clearing.Wait(Left()))
        {
            _clearing = Task.CompletedTask;
        }
    }

    /// <summary>On shutdown, a commit already in flight is awaited once; if it fails, its offsets stay unstored for redelivery.</summary>
    public async Task FinishOnShutdownAsync()
    {
        if (_pending is { } p)
        {
            _pending = null;
            await p.Task;
            Completed(p);
        }
        await _clearing; // as on a revoke: the next owner should find no outbox to settle
        _clearing = Task.CompletedTask;
    }
}
