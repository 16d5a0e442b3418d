namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// A batch on its way out: state and outbox to the store (persist), then the messages of the shards written to the
/// broker (publish), then the outboxes cleared; the offsets it carries are stored only after all that (commit).
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
        await state.ClearOutboxesAsync(_written, CancellationToken.None);
    }
}
