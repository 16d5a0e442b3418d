namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The one batch whose commit is in flight while the next batch is consumed, parsed, loaded and decided. Its offsets
/// are stored only once its commit completed; the next commit starts only after it, so shards are written in order.
/// </summary>
public sealed class CommitSlot(IStoreOutageGate gate, IOffsetStore offsets)
{
    private BatchCommit? _pending;

    // The last completed commit: its outbox clear may still be running (BatchCommit.Cleanup).
    private BatchCommit? _done;

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
        offsets.Store(p.Positions);
        _done = p;
    }

    /// <summary>
    /// Lets the commit in flight finish before partitions go, so the next owner never races this instance's
    /// produce of an outbox it is recovering; its offsets are then committed with the revoke. Bounded: a
    /// commit stuck on a store outage is left to finish later (its writes to revoked shards are fenced off).
    /// </summary>
    public void SettleBeforeRevoke(TimeSpan timeout)
    {
        if (_pending is { } p)
        {
            try
            {
                p.Task.Wait(timeout);
            }
            catch (AggregateException)
            {
                return; // CompleteAsync goes on from the failed step
            }
            if (!p.Task.IsCompletedSuccessfully)
            {
                return;
            }
            _pending = null;
            offsets.Store(p.Positions);
            _done = p;
        }
        // The next owner treats an outbox still there as a crash: it re-sends that batch's decisions and dead letters.
        // A normal handover should not, so the last clear is given the same time to land (it never throws).
        _done?.Cleanup.Wait(timeout);
        _done = null;
    }

    /// <summary>On shutdown, a commit already in flight is awaited once; if it fails, its offsets stay unstored for redelivery.</summary>
    public async Task FinishOnShutdownAsync()
    {
        if (_pending is { } p)
        {
            _pending = null;
            await p.Task;
            offsets.Store(p.Positions);
            _done = p;
        }
        await (_done?.Cleanup ?? Task.CompletedTask); // as on a revoke: the next owner should find no outbox to settle
        _done = null;
    }
}
