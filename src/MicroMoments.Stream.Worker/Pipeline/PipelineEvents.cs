using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Logs and counts what the stages report.</summary>
public sealed class PipelineEvents(PipelineTelemetry telemetry, ILogger<PipelineEvents> logger) : IPipelineEvents, IPublishListener
{
    private readonly SplitUserWarnings _splitUsers = new(SplitUserWarnings.DefaultCapacity);

    public void DeadLettered(RejectedRecord rejected) =>
        Log.DeadLettered(logger, rejected.Record.Topic, rejected.Record.Partition, rejected.Record.Offset, rejected.Reason, rejected.Message);

    public void UnknownTimezones(int count) => telemetry.UnknownTimezone(count);

    public void RuleFailed(Exception ex, RecordSource source) => Log.RuleFailed(logger, ex, source.Topic, source.Partition, source.Offset);

    public void AliasMerged(string outcome) => telemetry.Alias(outcome);

    public void AliasNotMerged(string previousId, string userId, string reason, RecordSource source) =>
        Log.AliasNotMerged(logger, previousId, userId, reason, source.Topic, source.Partition, source.Offset);

    public void Decided(TimeSpan eventToDecision) => telemetry.Latency(eventToDecision);

    public void TimerFailed(Exception ex, string shard, string userId)
    {
        Log.TimerFailed(logger, ex, shard, userId);
        telemetry.TimerError();
    }

    public void TimerFired(TimeSpan late) => telemetry.TimerFired(late);

    public void Emitted(InterventionCommand command) => telemetry.Emitted(command);

    void IPublishListener.DeadLettered(string reason) => telemetry.DeadLetter(reason);

    /// <summary>
    /// The producers put one user on two partitions: two states, and caps and cooldowns no longer hold across them. Each
    /// partition keeps its own state (merging would need both owners, and the mistake is the producer's to fix), loudly.
    /// </summary>
    public void SplitFound(string userId, string shard, string other)
    {
        if (_splitUsers.ShouldWarn(userId))
        {
            telemetry.SplitUser();
            Log.UserSplitAcrossPartitions(logger, userId, shard, other);
        }
    }

    /// <summary>A batch's analytics and decisions, counted whether or not anything is produced.</summary>
    public void Report(BatchWork work)
    {
        foreach (var bad in work.Quarantined)
        {
            telemetry.StateQuarantined();
            Log.StateQuarantined(logger, bad.UserId, bad.Key, bad.QuarantineKey, bad.Error);
        }
        telemetry.RuleOutcomes(work);
        foreach (var (_, decision) in work.Decisions)
        {
            telemetry.Decided(decision);
        }
    }
}
