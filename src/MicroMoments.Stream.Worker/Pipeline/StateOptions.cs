using System.ComponentModel.DataAnnotations;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Configuration section <c>MicroMoments:State</c>: the bounds on each user's state and on the population baseline.</summary>
public sealed class StateOptions
{
    public const string SectionName = "MicroMoments:State";

    private static readonly StateLimits Defaults = new();

    [Range(1, 100_000)]
    public int MaxTraits { get; set; } = Defaults.MaxTraits;

    [Range(1, 100_000)]
    public int MaxFeatures { get; set; } = Defaults.MaxFeatures;

    [Range(1, 100_000)]
    public int MaxTasks { get; set; } = Defaults.MaxTasks;

    [Range(1, 100_000)]
    public int MaxStringLength { get; set; } = Defaults.MaxStringLength;

    [Range(1, 100_000)]
    public int MaxTimers { get; set; } = Defaults.MaxTimers;

    [Range(1024, 64 * 1024 * 1024)]
    public int MaxStateBytes { get; set; } = Defaults.MaxStateBytes;

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MaxTaskDuration { get; set; } = Defaults.MaxTaskDuration;

    [Range(1, 1_000_000)]
    public int MaxPopulationTasks { get; set; } = Defaults.MaxPopulationTasks;

    public StateLimits ToLimits() => new()
    {
        MaxTraits = MaxTraits,
        MaxFeatures = MaxFeatures,
        MaxTasks = MaxTasks,
        MaxStringLength = MaxStringLength,
        MaxTimers = MaxTimers,
        MaxStateBytes = MaxStateBytes,
        MaxTaskDuration = MaxTaskDuration,
        MaxPopulationTasks = MaxPopulationTasks,
    };
}
