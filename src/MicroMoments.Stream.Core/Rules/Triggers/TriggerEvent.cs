using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// An event being applied, as <see cref="TriggerSpec.OnEvent"/> sees it; the rules that fire collect here. A ref struct
/// on the engine's stack, so handing it to every rule the event concerns allocates nothing.
/// </summary>
internal ref struct TriggerEvent(UserState state, ClickEvent e, long timestamp, Observation observation, Evaluation result, StateLimits limits)
{
    public readonly UserState State = state;
    public readonly ClickEvent Event = e;

    /// <summary>The event's time, Unix milliseconds.</summary>
    public readonly long Timestamp = timestamp;

    /// <summary>What the event changed in the user's profile (the metrics after it).</summary>
    public readonly Observation Observation = observation;

    public readonly Evaluation Result = result;
    public readonly StateLimits Limits = limits;

    /// <summary>How the event stands against the user's latest event time (<see cref="EventOrder"/>).</summary>
    public Arrival Arrival;

    /// <summary>The user's latest event time before this event (Unix ms; 0: none), and <c>policies.allowedLateness</c> in ms.</summary>
    public long Latest;
    public long LatenessMs;

    /// <summary>Answering in event time: the rules have an allowed lateness (0 keeps arrival order, as before it existed).</summary>
    public readonly bool EventTime => LatenessMs > 0;

    /// <summary>The user's latest event time after this event.</summary>
    public readonly long LatestAfter => Math.Max(Latest, Timestamp);

    /// <summary>The rules the event fired, in the order they fired; null while none has.</summary>
    public List<Candidate>? Candidates;

    public void Fire(Candidate candidate) => (Candidates ??= []).Add(candidate);

    /// <summary>Commands sent earlier (rule id, intervention id) that timestamp order would not have sent; null while none.</summary>
    public List<(string RuleId, string InterventionId)>? Retractions;

    public void Retract(string ruleId, string interventionId) => (Retractions ??= []).Add((ruleId, interventionId));
}
