using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Record: a planned proposal written to the user's schedule, sent log and memory, and to the step's decisions.</summary>
public sealed partial class RuleEngine
{
    /// <summary>
    /// Writes what Plan decided for <paramref name="p"/>: the decision and its counters, and in the state the schedule (waiting
    /// or awaiting its minute, superseding the rule's waiting entry), the sent log and memory of what is produced, and the
    /// unserved crossing of one that expired or was dropped as blocked. The only writer of the step's placements.
    /// </summary>
    private void Record(UserState state, in Proposal p, in PlannedDelivery plan, DateTimeOffset triggerAt, DateTimeOffset now, Evaluation result,
        ClickEvent? e)
    {
        var c = p.Candidate;
        var rule = p.Rule;
        result.Stats.Add(new StatIncrement(rule.Id, p.Variant, "matched"));
        if (plan.Kind == PlanKind.Suppress)
        {
            if (plan.StartsAutoPause)
            {
                state.AutoPausedAt = now.ToUnixTimeMilliseconds();
            }
            var blocked = plan.Reason == Reasons.Expired ? plan.Blocked : null;
            if (c.Crossing is not null && (blocked is not null || plan.Reason == plan.Blocked))
            {
                DeliverySchedule.MarkUnserved(state, c.Crossing); // expired or dropped as blocked: eligible at the next qualifying event
            }
            result.Stats.Add(new StatIncrement(rule.Id, p.Variant, "suppressed." + plan.Reason));
            result.Decisions.Add(new Decision(state.UserId, rule.Id, Rules.Version, Outcomes.Suppressed, plan.Reason, p.Id, now, p.Trigger, plan.Delivery)
                { Variant = p.Arm, Blocked = blocked });
            return;
        }
        var slot = DateTimeOffset.FromUnixTimeMilliseconds(plan.Slot);
        var deliverAt = plan.DeliverAt!.Value;
        Supersede(state, rule.Id, now, result);
        if (c.Crossing is not null)
        {
            DeliverySchedule.Served(state, c.Crossing);
        }
        switch (plan.Kind)
        {
            case PlanKind.HoldOut:
                // A ghost: nothing is sent, but the would-be id and a conversion window are kept for a fair comparison.
                Remember(state, rule, p.Id, p.Variant, triggerAt, ghost: true);
                if (p.Control)
                {
                    // Caps and cooldowns count a control user's ghosts as sends, at the slot a treated user's command would get.
                    _gate.Record(state, rule, p.Channel, slot, now);
                }
                result.Stats.Add(new StatIncrement(rule.Id, p.Variant, "held_out"));
                Decided(state, new Decision(state.UserId, rule.Id, Rules.Version, Outcomes.HeldOut, plan.Reason, p.Id, now, p.Trigger)
                    { Variant = p.Arm, Blocked = plan.Blocked }, result);
                return;
            case PlanKind.Wait:
            {
                // Moved by a count limit or a collision: it waits unproduced, and is checked again when its slot comes.
                var pending = Build(state, c, p.Trigger, p.Id, p.Channel, slot, now, p.Variant, p.Delivered, e) with
                {
                    ExpiresAt = deliverAt + rule.Action.Expiry,
                };
                Wait(state, c, pending, plan.Blocked!, triggerAt, now, result);
                result.Stats.Add(new StatIncrement(rule.Id, p.Variant, "deferred"));
                Decided(state, new Decision(state.UserId, rule.Id, Rules.Version, Outcomes.Deferred, plan.Reason, p.Id, now, p.Trigger, plan.Delivery)
                    { Variant = p.Arm, Blocked = plan.Blocked }, result);
                return;
            }
            case PlanKind.AwaitMinute:
                // Its minute comes from the ledger after the batch (Reserve and Settle), and its decision with it.
                AwaitMinute(state, c, Build(state, c, p.Trigger, p.Id, p.Channel, deliverAt, now, p.Variant, p.Delivered, e), triggerAt,
                    plan.Reason, plan.Delivery, result);
                return;
            default:
                Produce(state, rule, Build(state, c, p.Trigger, p.Id, p.Channel, deliverAt, now, p.Variant, p.Delivered, e), triggerAt, now, result);
                result.Stats.Add(new StatIncrement(rule.Id, p.Variant, plan.Reason is null ? "emitted" : "deferred"));
                Decided(state, new Decision(state.UserId, rule.Id, Rules.Version,
                    plan.Reason is null ? Outcomes.Emitted : Outcomes.Deferred, plan.Reason, p.Id, now, p.Trigger, plan.Delivery) { Variant = p.Arm }, result);
                return;
        }
    }

    /// <summary>A decision that sends or holds out: the step's, and the user's treated or control arm for retention.</summary>
    private static void Decided(UserState state, Decision d, Evaluation result)
    {
        result.Decisions.Add(d);
        Analytics.RetentionCounting.Enter(state, d, result);
    }
}
