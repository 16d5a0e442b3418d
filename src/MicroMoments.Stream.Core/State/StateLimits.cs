namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Bounds on what one user's events can store, so that no user can grow their state (or the shared population
/// baseline) without limit. The worker takes them from <c>MicroMoments:State</c>; <c>simulate</c> uses these defaults.
/// </summary>
public sealed record StateLimits
{
    /// <summary>Distinct traits kept per user; the least recently set is evicted beyond it.</summary>
    public int MaxTraits { get; init; } = 100;

    /// <summary>Distinct features with a use count per user; the least recently used is evicted beyond it.</summary>
    public int MaxFeatures { get; init; } = 200;

    /// <summary>Distinct tasks with a usual duration per user; the least recently completed is evicted beyond it.</summary>
    public int MaxTasks { get; init; } = 100;

    /// <summary>Longest trait name or value, feature or task name (in characters) kept in state; longer ones are ignored and counted.</summary>
    public int MaxStringLength { get; init; } = 256;

    /// <summary>Pending timers per user; arming one more evicts the earliest-due timer of the same rule (else of all) and counts it.</summary>
    public int MaxTimers { get; init; } = 64;

    /// <summary>Largest stored state (binary format); beyond it the oldest history is trimmed and counted.</summary>
    public int MaxStateBytes { get; init; } = 64 * 1024;

    /// <summary>Longest plausible <c>durationMs</c> of a task; longer, below 1 ms or non-finite ones are ignored and counted.</summary>
    public TimeSpan MaxTaskDuration { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Distinct tasks in the population baseline; samples of further tasks are ignored and counted.</summary>
    public int MaxPopulationTasks { get; init; } = 1000;
}
