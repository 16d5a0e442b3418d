using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>What applying one event (or firing a user's due timers) produced.</summary>
public sealed class Evaluation
{
    public static readonly Evaluation Duplicate = new() { Applied = false };

    /// <summary>False when the record had been applied before (a redelivery): nothing changed.</summary>
    public bool Applied { get; init; } = true;

    public List<InterventionCommand> Interventions { get; } = [];
    public List<Decision> Decisions { get; } = [];
}
