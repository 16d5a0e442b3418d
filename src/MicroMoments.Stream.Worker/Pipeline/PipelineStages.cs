using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// The stages of the batch path, in order (docs/pipeline.md): consume and commit are the consumer's
/// (<see cref="BatchConsumer"/>, <see cref="OffsetCommitter"/>); these are the ones between.
/// </summary>
public sealed record PipelineStages(
    ParseStage Parse,
    LoadStage Load,
    DecideStage Decide,
    OutboundBuilder Outbound,
    StatePersister Persist,
    CommandPublisher Publish,
    ShardOwnership Ownership,
    TimerIndex Timers,
    UserStateCache Cache);
