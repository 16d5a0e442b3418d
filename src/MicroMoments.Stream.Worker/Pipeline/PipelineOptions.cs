using System.ComponentModel.DataAnnotations;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Configuration section <c>MicroMoments:Pipeline</c>: how the worker batches, caches and fires timers.</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "MicroMoments:Pipeline";

    /// <summary>Triggers older than this (live mode) update state but never emit: a replay does not spam users.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MaxTriggerAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Events stamped further ahead of the worker's clock are dead-lettered.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the loop looks for due timers in the partitions it owns.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan TimerCheckInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Most users whose timers are fired per partition per check.</summary>
    [Range(1, 100_000)]
    public int TimerBatchSize { get; set; } = 2000;

    /// <summary>Users kept in the in-process state cache before it is emptied.</summary>
    [Range(1_000, 10_000_000)]
    public int MaxCachedUsers { get; set; } = 250_000;
}
