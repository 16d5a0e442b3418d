using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// A rule whose trigger fired, before its conditions and the policy gate decide on it. <see cref="Kind"/> is the trigger
/// kind as the command names it; <see cref="TriggerKey"/> makes the intervention id. <see cref="Crossing"/>: a threshold
/// crossing's key (<see cref="DeliverySchedule.CrossingKey"/>), kept as unserved when the candidate expires or is dropped as blocked.
/// </summary>
internal sealed record Candidate(Rule Rule, string Kind, IReadOnlyList<string> EventIds, Dictionary<string, object> Details, string TriggerKey,
    string? Crossing = null);
