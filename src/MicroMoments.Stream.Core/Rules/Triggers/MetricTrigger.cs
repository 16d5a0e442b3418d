using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// A trigger on a derived metric (<see cref="TriggerSpec.Metric"/>, see <see cref="Metrics"/>), checked on
/// <see cref="TriggerSpec.Event"/> or on every event: it fires on the event after which the metric holds the trigger's
/// condition and before which it did not, or at the next event while it holds when that crossing went unserved
/// (<see cref="DeliverySchedule.IsUnserved"/>). Threshold and streak differ only in the condition.
/// </summary>
public abstract class MetricTrigger : TriggerSpec
{
    private protected MetricTrigger(TriggerKindInfo info) : base(info)
    {
    }

    /// <summary>Whether the metric's value meets the trigger's condition (null: the metric has no value).</summary>
    private protected abstract bool Holds(double? value);

    /// <summary>The candidate's kind, as decisions name it.</summary>
    private protected abstract string CandidateKind { get; }

    /// <summary>
    /// In event time, a trigger key that names the crossing itself rather than the event that arrived with it, so that a
    /// reordered journey gives the same intervention id (docs/rules.md, "Allowed lateness"); null: the event's id.
    /// </summary>
    private protected virtual string? CanonicalKey(ref TriggerEvent on) => null;

    internal override bool Concerns(string? key) => Event is null || Event == key;

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        var e = on.Event;
        if (Event is not null && !Matches(e, on.State))
        {
            return;
        }
        var after = Metrics.Read(Metric!, on.State, e, on.Observation, e.Timestamp);
        if (!Holds(after))
        {
            return;
        }
        // A crossing whose candidate expired or was dropped as blocked stays eligible: it fires again while the metric holds.
        // Its key is made only when it can matter: at a crossing, or while the user has unserved ones (not at every event after).
        var crossed = !Holds(before);
        var crossing = crossed || on.State.UnservedCrossings is not null ? DeliverySchedule.CrossingKey(rule, e) : null;
        if (crossed || (crossing is not null && DeliverySchedule.IsUnserved(on.State, crossing)))
        {
            var details = TriggerDetails.Of(e);
            details["metric"] = Metric!;
            details["value"] = after!.Value;
            on.Fire(new Candidate(rule, CandidateKind, [e.MessageId], details, on.EventTime ? CanonicalKey(ref on) ?? e.MessageId : e.MessageId, crossing));
        }
    }
}
