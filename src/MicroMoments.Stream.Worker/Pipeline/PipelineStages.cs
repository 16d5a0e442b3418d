using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// The stages of the batch path, in order (docs/pipeline.md), with the state they share: the owned shards and their
/// epochs, the timer index and the user cache. Consume and commit are the consumer's (<see cref="BatchConsumer"/>,
/// <see cref="OffsetCommitter"/>), created per run because rebalances call back into the worker. <c>Decide</c> is the
/// decide path, load → decide → pace, over the Redis reader, the Redis rate ledger, the shard ownership and the wall clock.
/// </summary>
public sealed record PipelineStages(
    ParseStage Parse,
    BatchPipeline Decide,
    OutboundBuilder Outbound,
    StatePersister Persist,
    CommandPublisher Publish,
    ShardOwnership Ownership,
    TimerIndex Timers,
    UserStateCache Cache);
