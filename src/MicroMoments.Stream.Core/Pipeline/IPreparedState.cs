namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>A batch's state and outboxes, serialised per shard and ready to write (stage 5, persist).</summary>
public interface IPreparedState
{
    /// <summary>
    /// Writes every shard, fenced by its epoch; safe to retry. Returns the shards written: a shard fenced off by a
    /// new owner is left out, and its messages must not be produced.
    /// </summary>
    Task<IReadOnlySet<string>> SaveAsync(CancellationToken ct);

    /// <summary>
    /// Deletes the outboxes of the written shards once their messages are acknowledged, unless a later write of the shard
    /// replaced them; never throws (nobody awaits it: a failure is only reported, and the outbox is left for a new owner).
    /// </summary>
    Task ClearOutboxesAsync(IReadOnlySet<string> written, CancellationToken ct);
}
