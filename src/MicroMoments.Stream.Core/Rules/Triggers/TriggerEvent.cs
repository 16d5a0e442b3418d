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

    /// <summary>The rules the event fired, in the order they fired; null while none has.</summary>
    public List<Candidate>? Candidates;

    public void Fire(Candidate candidate) => (Candidates ??= []).Add(candidate);
}
