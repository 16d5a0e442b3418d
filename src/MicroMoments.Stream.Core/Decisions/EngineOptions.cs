using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Settings of the rule engine that are not part of the rules file.</summary>
public sealed record EngineOptions
{
    /// <summary>A trigger older than this when decided (live mode) updates state but emits nothing.</summary>
    public TimeSpan MaxTriggerAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Off in <c>simulate</c>, where the clock follows the events and nothing is stale.</summary>
    public bool CheckStaleness { get; init; } = true;

    /// <summary>What <c>allocation: bandit</c> experiments know of their arms; shared by the engines of one process.</summary>
    public ArmStatistics Arms { get; init; } = new();

    /// <summary>Bounds on each user's state and on the population baseline.</summary>
    public StateLimits Limits { get; init; } = new();

    /// <summary>The learned segments <c>user.cluster</c> resolves against (<c>MicroMoments:Segments:Path</c>); null: none loaded.</summary>
    public Segments.SegmentModel? Segments { get; init; }
}
