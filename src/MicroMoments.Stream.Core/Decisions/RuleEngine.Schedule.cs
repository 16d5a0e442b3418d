using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>The waiting half of the delivery schedule in the engine: candidates put to wait, replaced, woken at their slot.</summary>
public sealed partial class RuleEngine
{
    /// <summary>
    /// Puts a candidate a count limit or collision moved to wait for its slot, with what producing it then needs: the command
    /// as decided now (<paramref name="pending"/>: message rendered, <c>deliverAfter</c> the slot, <c>expiresAt</c> fixed).
    /// </summary>
    private void Wait(UserState state, Candidate c, InterventionCommand pending, string blocked, DateTimeOffset triggerAt, DateTimeOffset now,
        Evaluation result)
    {
        var entry = Entry(c.Rule, pending, blocked, triggerAt, c.Crossing);
        Keep(entry, pending, result);
        if (DeliverySchedule.Add(state, entry) is { } leaving)
        {
            DeliverySchedule.FollowUp(Rules, state, leaving, Outcomes.Suppressed, Reasons.ScheduleFull, now, result);
        }
    }

    /// <summary>
    /// Puts a candidate the rules would produce now on a rate-limited channel to await its minute (docs/rules.md, "Pacing"):
    /// counted at its slot by what the batch places after it, neither produced, recorded nor decided until the pace stage settles it.
    /// </summary>
    private void AwaitMinute(UserState state, Candidate c, InterventionCommand command, DateTimeOffset triggerAt, string? scheduleReason,
        DeliveryChoice? delivery, Evaluation result) =>
        DeliverySchedule.Await(state, Entry(c.Rule, command, Reasons.RateLimit, triggerAt, c.Crossing),
            new MinuteWait(command, Decided: false, scheduleReason, delivery), result);

    /// <summary>A schedule entry for a command as decided now, without what only a stay past the batch needs (<see cref="Keep"/>).</summary>
    private WaitingDelivery Entry(Rule rule, InterventionCommand pending, string blocked, DateTimeOffset triggerAt, string? crossing)
    {
        string? per = null;
        if (DeliveryCancellation.PerOf(rule) is { } property)
        {
            per = pending.Trigger.Details.TryGetValue(property, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "" : "";
            if (per.Length > _options.Limits.MaxStringLength)
            {
                per = null; // not kept (a produced command with it is not tracked at all); the entry is withdrawn by any of the rule's cancelOn events
            }
        }
        return new WaitingDelivery
        {
            InterventionId = pending.InterventionId, RuleId = rule.Id, Channel = pending.Channel, Priority = pending.Priority,
            Slot = pending.DeliverAfter.ToUnixTimeMilliseconds(), ExpiresAt = pending.ExpiresAt.ToUnixTimeMilliseconds(), Blocked = blocked,
            TriggerAt = triggerAt.ToUnixTimeMilliseconds(), TriggerKind = pending.Trigger.Kind, EventIds = [.. pending.Trigger.EventIds],
            Variant = pending.Variant == "control" ? null : pending.Variant, Intent = pending.Intent, Per = per, Crossing = crossing,
        };
    }

    /// <summary>What an entry keeps to be produced after the batch: the rendered message (cut to <see cref="MaxWaitingText"/>) and the trigger details.</summary>
    private void Keep(WaitingDelivery entry, InterventionCommand pending, Evaluation result)
    {
        entry.Details = pending.Trigger.Details.Count == 0 ? null : TriggerDetails.Store(pending.Trigger.Details, _options.Limits, result);
        (entry.Title, entry.Body) = (Kept(pending.Message.Title), Kept(pending.Message.Body));
        (entry.ActionLabel, entry.ActionUrl) = (Kept(pending.Message.Action?.Label), Kept(pending.Message.Action?.Url));
    }

    /// <summary>
    /// The most of a rendered message text a waiting entry keeps: <c>{{event.*}}</c> placeholders can fill a message with an
    /// event's text, and the entry lives in the user's state until its slot. Cut with the command budget's marker.
    /// </summary>
    private const int MaxWaitingText = 2000;

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    private static string? Kept(string? text) =>
        text is { Length: > MaxWaitingText } ? text[..(MaxWaitingText - CommandSizeBudget.Marker.Length)] + CommandSizeBudget.Marker : text;

    /// <summary>A newer decided candidate of a rule replaces the rule's waiting one (at most one waits per rule and user).</summary>
    private void Supersede(UserState state, string ruleId, DateTimeOffset now, Evaluation result)
    {
        if (DeliverySchedule.Of(state, ruleId) is { } old)
        {
            DeliverySchedule.Remove(state, old);
            DeliverySchedule.FollowUp(Rules, state, old, Outcomes.Suppressed, Reasons.Superseded, now, result);
        }
    }

    /// <summary>
    /// Wakes the waiting entries whose slot has come, highest priority first. Each is checked again — the pauses and once-per-user,
    /// then its cooldown and the count limits against what was produced meanwhile — and then produced, placed later, or expired.
    /// </summary>
    private void WakeWaiting(UserState state, DateTimeOffset now, Evaluation result)
    {
        foreach (var w in DeliverySchedule.TakeDue(state, now.ToUnixTimeMilliseconds()))
        {
            // As its arm delivers it: a variant's send window moves it as it moved it when proposed.
            if (Rules.Find(w.RuleId)?.ForVariant(w.Variant) is not { } rule)
            {
                continue; // a removed rule's waiting entries lapse quietly, as its timers do
            }
            var reason = _gate.CheckDrop(state, rule, now);
            var place = reason is null ? _gate.Place(state, rule, w.Channel, w.Slot, w.ExpiresAt, null, w.Priority) : default;
            reason ??= place.Drop;
            if (reason is not null)
            {
                if (reason == Reasons.Expired && w.Crossing is not null)
                {
                    DeliverySchedule.MarkUnserved(state, w.Crossing);
                }
                DeliverySchedule.FollowUp(Rules, state, w, Outcomes.Suppressed, reason, now, result, reason == Reasons.Expired ? place.Blocked ?? w.Blocked : null);
                continue;
            }
            if (place.Slot > w.Slot)
            {
                // Taken meanwhile by what was produced (a higher priority first): it waits on for the next allowed slot, and a
                // minute reserved for this one is lost.
                (w.Slot, w.Blocked, w.Reserved) = (place.Slot, place.Blocked ?? w.Blocked, null);
                if (DeliverySchedule.Add(state, w) is { } leaving)
                {
                    DeliverySchedule.FollowUp(Rules, state, leaving, Outcomes.Suppressed, Reasons.ScheduleFull, now, result);
                }
                continue;
            }
            if (Rules.RateLimitOf(w.Channel) is not null && w.Reserved != RateLimitPolicy.MinuteOf(w.Slot))
            {
                // On a rate-limited channel with no minute of its own: it awaits one with the batch's others.
                DeliverySchedule.Await(state, w, new MinuteWait(Command(state, rule, w, now), Decided: true), result);
                continue;
            }
            Produce(state, rule, Command(state, rule, w, now), DateTimeOffset.FromUnixTimeMilliseconds(w.TriggerAt), now, result);
            if (w.Crossing is not null)
            {
                DeliverySchedule.Served(state, w.Crossing);
            }
            DeliverySchedule.FollowUp(Rules, state, w, Outcomes.Emitted, null, now, result);
        }
    }

    /// <summary>
    /// The command of a waiting entry, as a direct decision at its slot would have produced it: the same id and rendered message,
    /// <c>deliverAfter</c> the slot, the <c>expiresAt</c> fixed when it was proposed, the user as they are now.
    /// </summary>
    private InterventionCommand Command(UserState state, Rule rule, WaitingDelivery w, DateTimeOffset now) => new()
    {
        InterventionId = w.InterventionId,
        UserId = w.UserId ?? state.UserId,
        RuleId = rule.Id,
        RuleVersion = Rules.Version,
        Moment = rule.Action.Moment,
        Channel = w.Channel,
        Priority = w.Priority,
        Message = new InterventionMessage(w.Title, w.Body, w.ActionLabel is null ? null : new MessageAction(w.ActionLabel, w.ActionUrl)),
        DeliverAfter = DateTimeOffset.FromUnixTimeMilliseconds(w.Slot),
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(w.ExpiresAt),
        Trigger = DeliverySchedule.Trigger(w),
        User = new UserSummary(UserProfile.LifecycleStage(state, now), UserProfile.Archetype(state, now), state.Device, state.Timezone,
            UserProfile.Segment(state, now)),
        Intent = w.Intent,
        Variant = w.Variant ?? "control",
        Experiment = rule.Experiment?.Name,
        DecidedAt = now,
    };

    /// <summary>
    /// After a rule threw on a user's timer step: drops what was due (timers and waiting entries), or it would throw again at every
    /// check. What the timer loop and <c>simulate</c> do with a failed timer step.
    /// </summary>
    public static void DropDue(UserState state, DateTimeOffset now)
    {
        Timers.TakeDue(state, now.ToUnixTimeMilliseconds());
        DeliverySchedule.TakeDue(state, now.ToUnixTimeMilliseconds());
    }
}
