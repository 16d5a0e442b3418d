using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Propose's output for one candidate whose conditions hold: the intervention id, the channel and the arm, fixed before it is
/// placed. Immutable; Plan and Record read it.
/// </summary>
/// <remarks><see cref="Delivered"/> is the rule as the arm delivers it (<see cref="Rule.ForVariant"/>): its delay, deliver, channels and message.
/// <see cref="NewArm"/>: a bandit gave the user <see cref="Variant"/> for this proposal.</remarks>
internal readonly record struct Proposal(Candidate Candidate, TriggerInfo Trigger, string Id, string Channel, string Variant,
    Rule Delivered, string? Arm, bool Control, bool NewArm = false)
{
    public Rule Rule => Candidate.Rule;

    /// <summary>A holdout or global-control user's candidate: placed like a command, recorded as held out.</summary>
    public bool Ghost => Control || Variant == ExperimentAssignment.HoldoutVariant;
}

/// <summary>What Plan decided for a proposal (docs/delivery-time.md, part 2).</summary>
internal enum PlanKind
{
    /// <summary>Dropped: <see cref="PlannedDelivery.Reason"/> says why (with the blocking limit when it expired).</summary>
    Suppress,

    /// <summary>A ghost: placed, counted for a global-control user, nothing produced.</summary>
    HoldOut,

    /// <summary>Moved by a count limit or a collision: waits unproduced in the user's schedule for its slot.</summary>
    Wait,

    /// <summary>On a rate-limited channel: awaits its minute from the ledger (Reserve and Settle, after the batch's steps).</summary>
    AwaitMinute,

    /// <summary>Produced now, with its <c>deliverAfter</c> (moved only by time: delay, quiet hours, send window, <c>best_time</c>).</summary>
    Produce,
}

/// <summary>
/// Plan's answer for one proposal. <see cref="Slot"/> (Unix ms) is where the count limits and collisions allow it;
/// <see cref="DeliverAt"/> is the time-only <c>deliverAfter</c> its <c>expiresAt</c> counts from; <see cref="Reason"/> is the
/// decision's reason; <see cref="Blocked"/> the count limit or collision that moved (or, expired, dropped) it.
/// <see cref="StartsAutoPause"/>: the auto-pause starts now for the user, which Record writes.
/// </summary>
internal readonly record struct PlannedDelivery(PlanKind Kind, string? Reason, string? Blocked, long Slot, DateTimeOffset? DeliverAt,
    DeliveryChoice? Delivery, bool StartsAutoPause = false);

/// <summary>
/// Propose and Plan: a candidate made a proposal, then placed in the user's schedule. Plan only reads the state; Propose writes
/// one thing, a bandit's arm for a user's first candidate of the rule (kept whether the candidate is then sent or not).
/// </summary>
public sealed partial class RuleEngine
{
    /// <summary>The proposal for a candidate: its intervention id, the channel for the user's device, its experiment arm.</summary>
    private Proposal Propose(UserState state, Candidate c, bool control)
    {
        var (variant, newArm) = control ? (GlobalControl.Variant, false)
            : c.Rule.Experiment is { } experiment ? ArmAllocator.Assign(state, c.Rule, experiment, _options.Arms) : ("control", false);
        // On the audit record, so the offline report splits by arm and finds the global control group.
        var arm = control || c.Rule.Experiment is not null ? variant : null;
        var delivered = c.Rule.ForVariant(variant);
        return new Proposal(c, new TriggerInfo(c.Kind, c.EventIds, c.Details), InterventionIds.Create(state.UserId, c.Rule.Id, c.TriggerKey),
            delivered.Action.ChannelFor(state.Device), variant, delivered, arm, control, newArm);
    }

    /// <summary>
    /// Places a proposal at delivery time: the drops first (a stale trigger, the pauses, once-per-user), then the time-only moves
    /// (delay, quiet hours, send window, <c>best_time</c>), then the slot where every count limit allows it, no earlier than a
    /// collision's <paramref name="notBefore"/>. Pure: the state is only read.
    /// </summary>
    private PlannedDelivery Plan(UserState state, in Proposal p, DateTimeOffset now, bool stale, long? notBefore)
    {
        var rule = p.Delivered;
        var (drop, startsAutoPause) = stale ? (Reasons.StaleTrigger, false) : _gate.Check(state, rule, now);
        if (drop is not null)
        {
            return new PlannedDelivery(PlanKind.Suppress, drop, null, 0, null, null, startsAutoPause);
        }
        var wanted = now + rule.Action.Delay;
        var (deliverAt, scheduleReason) = _gate.Schedule(state, rule, wanted);
        DeliveryChoice? delivery = null;
        if (rule.Action.BestTime)
        {
            (deliverAt, scheduleReason, delivery) = _gate.ScheduleBestTime(state, rule, wanted);
        }
        if (deliverAt is not { } at)
        {
            return new PlannedDelivery(PlanKind.Suppress, scheduleReason, null, 0, null, delivery); // quiet hours in drop mode
        }
        // Counted at delivery time: the slot where every cap and disclosure allows it, after the winner of a collision.
        var place = _gate.Place(state, rule, p.Channel, at.ToUnixTimeMilliseconds(), (at + rule.Action.Expiry).ToUnixTimeMilliseconds(),
            notBefore, rule.Action.Priority);
        if (place.Drop is { } dropped)
        {
            return new PlannedDelivery(PlanKind.Suppress, dropped, place.Blocked, 0, at, delivery);
        }
        if (p.Ghost)
        {
            return new PlannedDelivery(PlanKind.HoldOut, p.Control ? Reasons.GlobalControl : Reasons.Holdout, place.Blocked, place.Slot, at, delivery);
        }
        if (place.Blocked is { } blocked)
        {
            return new PlannedDelivery(PlanKind.Wait, blocked, blocked, place.Slot, at, delivery);
        }
        var kind = Rules.RateLimitOf(p.Channel) is not null ? PlanKind.AwaitMinute : PlanKind.Produce;
        return new PlannedDelivery(kind, scheduleReason, null, place.Slot, at, delivery);
    }
}
