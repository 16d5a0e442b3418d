using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>What the pure stages report as they go: the host logs and counts it; tests record it.</summary>
public interface IPipelineEvents
{
    void DeadLettered(RejectedRecord rejected);

    void UnknownTimezones(int count);

    void RuleFailed(Exception ex, RecordSource source);

    void AliasMerged(string outcome);

    void AliasNotMerged(string previousId, string userId, string reason, RecordSource source);

    /// <summary>From an event's own timestamp to its decision.</summary>
    void Decided(TimeSpan eventToDecision);

    void TimerFailed(Exception ex, string shard, string userId);

    /// <summary>Settling one user's entry that awaited its minute threw: the entry is dropped, the batch goes on. Logged as a timer failure.</summary>
    void SettleFailed(Exception ex, string shard, string userId) => TimerFailed(ex, shard, userId);

    /// <summary>A due timer fired, <paramref name="late"/> after it was due.</summary>
    void TimerFired(TimeSpan late);
}
