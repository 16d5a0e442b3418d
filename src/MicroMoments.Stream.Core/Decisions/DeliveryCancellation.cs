using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Delivery validation (docs/rules.md, "Cancelling pending commands"): a command sent with its <c>deliverAfter</c> still ahead
/// is withdrawn when its reason goes away first — one of its rule's <c>cancelOn</c> events arrives (with the same trigger
/// <c>per</c> value, when the trigger has one), or the user becomes paused for the rule (a user-wide pause pauses every rule). The <c>cancelOn</c> events also
/// cancel the rule's pending timers and withdraw its waiting candidates (<see cref="DeliverySchedule"/>), which end
/// <c>suppressed</c> without a message. The commands in question are kept in <see cref="UserState.PendingDeliveries"/>.
/// </summary>
public sealed class DeliveryCancellation
{
    /// <summary>Pending deliveries kept per user; one more drops the one due soonest (it was about to go out anyway).</summary>
    internal const int MaxPending = 16;

    private static readonly IReadOnlyDictionary<string, object> NoDetails = new Dictionary<string, object>();

    private readonly RuleSet _rules;
    private readonly Dictionary<string, Rule[]> _byEvent;

    public DeliveryCancellation(RuleSet rules)
    {
        _rules = rules;
        _byEvent = rules.Rules.SelectMany(r => CancelOn(r).Select(e => (Event: e, Rule: r)))
            .GroupBy(x => x.Event, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Rule).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The rule's <c>cancelOn</c> events (normalised): its own list, else for an absence trigger its <c>missing</c> event.</summary>
    public static IReadOnlyList<string> CancelOn(Rule rule) =>
        rule.Policy.CancelOn ?? (rule.Trigger is AbsenceTrigger { Missing: { } missing } ? [missing] : []);

    /// <summary>The trigger's <c>per</c> property (count and absence triggers), or null.</summary>
    public static string? PerOf(Rule rule) => rule.Trigger switch
    {
        CountTrigger c => c.Per,
        AbsenceTrigger a => a.Per,
        _ => null,
    };

    /// <summary>Notes a command just sent whose <c>deliverAfter</c> is ahead of <paramref name="now"/>.</summary>
    public static void Track(UserState state, Rule rule, InterventionCommand command, DateTimeOffset now, StateLimits limits)
    {
        var pending = state.PendingDeliveries;
        var at = pending?.FindIndex(p => p.InterventionId == command.InterventionId) ?? -1;
        if (command.DeliverAfter <= now)
        {
            if (at >= 0)
            {
                Remove(state, at);
            }
            return;
        }
        string? per = null;
        if (PerOf(rule) is { } property)
        {
            per = command.Trigger.Details.TryGetValue(property, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "" : "";
            if (per.Length > limits.MaxStringLength)
            {
                return; // as a timer does not keep such a value: the command cannot be matched to its cancelOn event
            }
        }
        if (at >= 0)
        {
            pending![at].DeliverAfter = command.DeliverAfter.ToUnixTimeMilliseconds();
            return;
        }
        pending = state.PendingDeliveries ??= [];
        pending.Add(new PendingDelivery
        {
            InterventionId = command.InterventionId, RuleId = rule.Id, Channel = command.Channel,
            DeliverAfter = command.DeliverAfter.ToUnixTimeMilliseconds(), Per = per,
        });
        KeepBound(pending);
    }

    /// <summary>At most <see cref="MaxPending"/> entries: the ones due soonest go first.</summary>
    internal static void KeepBound(List<PendingDelivery> pending)
    {
        while (pending.Count > MaxPending)
        {
            var soonest = 0;
            for (var i = 1; i < pending.Count; i++)
            {
                soonest = pending[i].DeliverAfter < pending[soonest].DeliverAfter ? i : soonest;
            }
            pending.RemoveAt(soonest);
        }
    }

    /// <summary>
    /// Before the event's triggers run (so a timer the event arms again is not cancelled): cancels the pending timers and the
    /// commands not yet due of every rule that names the event in <c>cancelOn</c>.
    /// </summary>
    internal void OnEvent(UserState state, ClickEvent e, DateTimeOffset now, Evaluation result)
    {
        if (!_byEvent.TryGetValue(e.Key, out var rules))
        {
            return;
        }
        Prune(state, now.ToUnixTimeMilliseconds());
        foreach (var rule in rules)
        {
            var per = PerOf(rule);
            var value = per is null ? null : e.Property(per) ?? "";
            CancelTimers(state, rule, value, _rules.LatenessMs > 0 ? e.Timestamp.ToUnixTimeMilliseconds() : long.MaxValue);
            foreach (var w in DeliverySchedule.TakeCancelled(state, rule.Id, value))
            {
                // Never produced, so nothing to cancel downstream: suppressed with the cancellation's reason, and no message.
                DeliverySchedule.FollowUp(_rules, state, w, Outcomes.Suppressed, CancelReasons.CancelOn(e.Key), now, result);
            }
            var pending = state.PendingDeliveries;
            for (var i = 0; pending is not null && i < pending.Count;)
            {
                var p = pending[i];
                if (p.RuleId == rule.Id && (value is null || p.Per == value))
                {
                    Cancel(state, p, CancelReasons.CancelOn(e.Key), now, e, result);
                    Remove(state, i);
                    pending = state.PendingDeliveries;
                    continue;
                }
                i++;
            }
        }
    }

    /// <summary>Withdraws the command <paramref name="interventionId"/> when it is still ahead of its <c>deliverAfter</c>; else nothing.</summary>
    internal void Withdraw(UserState state, string interventionId, string reason, DateTimeOffset now, ClickEvent? cause, Evaluation result)
    {
        Prune(state, now.ToUnixTimeMilliseconds());
        var at = state.PendingDeliveries?.FindIndex(p => p.InterventionId == interventionId) ?? -1;
        if (at >= 0)
        {
            Cancel(state, state.PendingDeliveries![at], reason, now, cause, result);
            Remove(state, at);
        }
    }

    /// <summary>
    /// After an event's or a timer's decisions: drops what is due by now, and withdraws the commands of rules the user has
    /// become paused for since they were sent (a dismissal pause, an auto-pause), and the entries of such rules still awaiting
    /// their minute from an earlier step of the batch (suppressed, as a waiting entry is at its slot). What this evaluation
    /// sent or put to await passed the pause check, so it stays.
    /// </summary>
    internal void AfterDecisions(UserState state, DateTimeOffset now, ClickEvent? cause, Evaluation result)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        if (state.Waiting is not null)
        {
            SuppressPausedAwaiting(state, now, nowMs, result);
        }
        if (state.PendingDeliveries is null)
        {
            return;
        }
        Prune(state, nowMs);
        var pending = state.PendingDeliveries;
        for (var i = 0; pending is not null && i < pending.Count;)
        {
            var p = pending[i];
            if (PauseReason(state, p.RuleId, nowMs) is { } reason && !SentBy(result, p.InterventionId))
            {
                Cancel(state, p, reason, now, cause, result);
                Remove(state, i);
                pending = state.PendingDeliveries;
                continue;
            }
            i++;
        }
    }

    /// <summary>The entries awaiting their minute from an earlier step whose rule is paused now: taken out, each suppressed.</summary>
    private void SuppressPausedAwaiting(UserState state, DateTimeOffset now, long nowMs, Evaluation result)
    {
        foreach (var w in DeliverySchedule.TakeAwaiting(state, w => !result.Awaiting.Contains(w) && PauseReason(state, w.RuleId, nowMs) is not null))
        {
            DeliverySchedule.FollowUp(_rules, state, w, Outcomes.Suppressed, PauseReason(state, w.RuleId, nowMs), now, result);
        }
    }

    /// <summary>Whether this evaluation produced the command <paramref name="interventionId"/>.</summary>
    private static bool SentBy(Evaluation result, string interventionId)
    {
        foreach (var c in result.InterventionsSoFar)
        {
            if (c.InterventionId == interventionId)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The pause the user is under for the rule now, as <see cref="PolicyGate.CheckDrop"/> would find it, or null.</summary>
    private string? PauseReason(UserState state, string ruleId, long nowMs)
    {
        var rule = _rules.Find(ruleId);
        if ((rule?.Policy.AutoPause ?? _rules.Policy.AutoPause) is { } auto
            && state.AutoPausedAt > 0 && nowMs < state.AutoPausedAt + (long)auto.For.TotalMilliseconds)
        {
            return CancelReasons.AutoPause;
        }
        return DismissalPausePolicy.PausedUntil(state, ruleId, nowMs) is not null ? CancelReasons.DismissalPause : null;
    }

    private void Cancel(UserState state, PendingDelivery p, string reason, DateTimeOffset now, ClickEvent? cause, Evaluation result)
    {
        var variant = state.Interventions?.FindLast(r => r.Id == p.InterventionId)?.Variant ?? "control";
        var experiment = _rules.Find(p.RuleId)?.Experiment?.Name;
        result.Cancellations.Add(new InterventionCancellation(p.InterventionId, p.UserId ?? state.UserId, p.RuleId, reason, now, variant, experiment));
        result.Stats.Add(new StatIncrement(p.RuleId, variant, Outcomes.Cancelled));
        // The arm as the command's decision named it, so the offline report books the cancellation where the live one does.
        result.Decisions.Add(new Decision(p.UserId ?? state.UserId, p.RuleId, _rules.Version, Outcomes.Cancelled, reason, p.InterventionId, now,
            new TriggerInfo(cause is null ? "timer" : "event", cause is null ? [] : [cause.MessageId], NoDetails))
        {
            Variant = variant == GlobalControl.Variant || _rules.Find(p.RuleId)?.Experiment is not null ? variant : null,
        });
    }

    /// <summary>
    /// The rule's own timers (an absence trigger's with the same <c>per</c> value only); never the shared inactivity timer. In
    /// event time, only those armed by an event stamped at or before the cancelling one (<paramref name="stampedAt"/>).
    /// </summary>
    private static void CancelTimers(UserState state, Rule rule, string? value, long stampedAt)
    {
        if (state.Timers is null)
        {
            return;
        }
        var scoped = value is null ? null : $"{rule.Id}|{value}";
        foreach (var timer in state.Timers.ToList())
        {
            if (timer.RuleId == rule.Id && (scoped is null || timer.Id == scoped) && timer.DueAt - (long)rule.Trigger.Duration.TotalMilliseconds <= stampedAt)
            {
                Timers.Cancel(state, timer.Id);
            }
        }
    }

    /// <summary>Drops the entries whose <c>deliverAfter</c> has come: those commands are the delivery services' now.</summary>
    private static void Prune(UserState state, long nowMs)
    {
        if (state.PendingDeliveries is { } pending && InPlace.RemoveWhere(pending, nowMs, static (p, now) => p.DeliverAfter <= now) > 0 && pending.Count == 0)
        {
            state.PendingDeliveries = null;
        }
    }

    /// <summary>Drops the entry at <paramref name="at"/>, and the list with its last entry.</summary>
    internal static void Remove(UserState state, int at)
    {
        state.PendingDeliveries!.RemoveAt(at);
        if (state.PendingDeliveries.Count == 0)
        {
            state.PendingDeliveries = null;
        }
    }
}
