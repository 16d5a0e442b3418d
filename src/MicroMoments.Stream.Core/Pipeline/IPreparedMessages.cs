namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>A batch's outgoing messages, grouped by the shard whose state they come from (stage 6, publish).</summary>
public interface IPreparedMessages
{
    /// <summary>Produces the messages of the given shards and returns once the broker acknowledged every one.</summary>
    Task ProduceAsync(IReadOnlySet<string> shards);
}
