using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Settle: an entry that awaited its minute on a rate-limited channel, placed by the ledger's grant.</summary>
public sealed partial class RuleEngine
{
    /// <summary>
    /// Settles <paramref name="entry"/>, which awaits its minute in <paramref name="state"/>'s schedule, with the minute the
    /// ledger granted it (or its own minute, when its channel has no limit now): in its own minute it is produced, with its
    /// <c>deliverAfter</c> kept; in a later one it waits for that minute's start (<c>rate_limit</c>), which it keeps
    /// (<see cref="WaitingDelivery.Reserved"/>); with none (-1) it expires, blocked by <c>rate_limit</c>. Only an entry with no
    /// decision yet is decided here; one woken at its slot gets the follow-up a waiting entry gets. Returns what it produced and
    /// decided, for the batch to add after what was decided before: nothing decided earlier changes.
    /// </summary>
    public Evaluation Settle(UserState state, WaitingDelivery entry, long granted, DateTimeOffset now)
    {
        var result = new Evaluation();
        var wait = entry.Awaiting ?? throw new ArgumentException("the entry does not await a minute", nameof(entry));
        DeliverySchedule.Remove(state, entry);
        if (Rules.Find(entry.RuleId)?.ForVariant(entry.Variant) is not { } rule)
        {
            entry.Awaiting = null;
            return result; // the rules changed between deciding and pacing: a removed rule's entries lapse quietly, as its timers do
        }
        var command = wait.Command;
        var own = RateLimitPolicy.MinuteOf(command.DeliverAfter.ToUnixTimeMilliseconds());
        if (granted >= 0 && granted <= own)
        {
            Produce(state, rule, command, DateTimeOffset.FromUnixTimeMilliseconds(entry.TriggerAt), now, result);
            if (wait.Decided)
            {
                if (entry.Crossing is not null)
                {
                    DeliverySchedule.Served(state, entry.Crossing);
                }
                DeliverySchedule.FollowUp(Rules, state, entry, Outcomes.Emitted, null, now, result);
            }
            else
            {
                DeliverySchedule.FollowUp(Rules, state, entry, wait.ScheduleReason is null ? Outcomes.Emitted : Outcomes.Deferred, wait.ScheduleReason, now, result);
            }
            entry.Awaiting = null;
        }
        else if (granted > own && DeliverySchedule.Of(state, entry.RuleId) is not null)
        {
            // A later step of the batch put a newer candidate of the rule to wait: one waits per rule, and it is the newer.
            DeliverySchedule.FollowUp(Rules, state, entry, Outcomes.Suppressed, Reasons.Superseded, now, result);
            entry.Awaiting = null;
        }
        else if (granted > own)
        {
            var slot = granted * RateLimitPolicy.MinuteMs;
            if (!wait.Decided)
            {
                DeliverySchedule.FollowUp(Rules, state, entry, Outcomes.Deferred, Reasons.RateLimit, now, result, blocked: Reasons.RateLimit);
                Keep(entry, command, result);
            }
            entry.Awaiting = null;
            (entry.Slot, entry.Blocked, entry.Reserved) = (slot, Reasons.RateLimit, granted);
            if (DeliverySchedule.Add(state, entry) is { } leaving)
            {
                DeliverySchedule.FollowUp(Rules, state, leaving, Outcomes.Suppressed, Reasons.ScheduleFull, now, result);
            }
        }
        else
        {
            if (entry.Crossing is not null)
            {
                DeliverySchedule.MarkUnserved(state, entry.Crossing); // expired: eligible at the next qualifying event
            }
            DeliverySchedule.FollowUp(Rules, state, entry, Outcomes.Suppressed, Reasons.Expired, now, result, blocked: Reasons.RateLimit);
            entry.Awaiting = null;
        }
        Bound(state, result);
        return result;
    }
}
