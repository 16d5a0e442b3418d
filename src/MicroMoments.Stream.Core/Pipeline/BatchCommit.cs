namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// A batch on its way out: state and outbox to the store (persist), then the messages of the shards written to the
/// broker (publish), then the outboxes cleared in the background; the offsets it carries are stored once every message
/// is acknowledged (commit).
/// Safe to run again after a failure: it goes on from the step that failed.
/// </summary>
public sealed class BatchCommit(IPreparedState state, IPreparedMessages messages, BatchPositions positions)
{
    private IReadOnlySet<string>? _written;
    private bool _published;

    /// <summary>Where the batch's partitions move once it is committed (none for a timer check).</summary>
    public BatchPositions Positions => positions;

    /// <summary>The run started by <see cref="Start"/>.</summary>
    public Task Task { get; private set; } = Task.CompletedTask;

    public BatchCommit Start()
    {
        Task = RunAsync();
        return this;
    }

    public async Task RunAsync()
    {
        // Not cancellable: once a shard's outbox is written its messages must go out, or its offsets stay put.
        _written ??= await state.SaveAsync(CancellationToken.None);
        if (_published)
        {
            return;
        }
        await messages.ProduceAsync(_written);
        _published = true;
        // Off the critical path: the next batch's commit (and this one's offsets) need not wait for it. Every message of
        // the outbox is acknowledged, so an outbox left behind (a crash, a failed clear) only costs a new owner one look
        // at the output topic, which finds nothing missing; and a clear that lands after the shard's next write leaves
        // that write's outbox alone (the store checks the write it belongs to).
        Cleanup = state.ClearOutboxesAsync(_written, CancellationToken.None);
    }

    /// <summary>The clearing of the outboxes, started once every message is acknowledged; not awaited by the commit.</summary>
    public Task Cleanup { get; private set; } = Task.CompletedTask;
}
