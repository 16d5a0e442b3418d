using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The waiting half of a user's delivery schedule (docs/rules.md, "Deferral"): candidates a cap, progressive disclosure, a
/// lower-priority collision or a rate limit moved later wait here unproduced, at most one per rule and <see cref="MaxWaiting"/> in
/// all, and wake the user at their slot through <see cref="UserState.NextDueAt"/>. Within a batch, entries on a rate-limited
/// channel also wait here for their minute (<see cref="WaitingDelivery.Awaiting"/>): outside that bound, one per candidate, since
/// each is a command the rules would produce now. Also the unserved threshold crossings, which may fire again at the next
/// qualifying event.
/// </summary>
public static class DeliverySchedule
{
    private static readonly IReadOnlyDictionary<string, object> NoDetails = new Dictionary<string, object>();

    /// <summary>Waiting entries per user. Pending work, so bounded by number and never trimmed for size, as timers are.</summary>
    public const int MaxWaiting = 8;

    /// <summary>Unserved crossings kept per user; one more forgets the oldest.</summary>
    public const int MaxUnserved = 8;

    /// <summary>A same-event collision's loser goes no earlier than this after the slot of the candidate that won.</summary>
    public static readonly TimeSpan CollisionSpacing = TimeSpan.FromMinutes(15);

    /// <summary>The rule's waiting entry (not one awaiting its minute: that is a command the rules produce), or null.</summary>
    internal static WaitingDelivery? Of(UserState state, string ruleId) => state.Waiting?.Find(w => w.RuleId == ruleId && w.Awaiting is null);

    /// <summary>Removes an entry, and the list with its last one.</summary>
    internal static void Remove(UserState state, WaitingDelivery entry)
    {
        if (state.Waiting is { } waiting && waiting.Remove(entry) && waiting.Count == 0)
        {
            state.Waiting = null;
        }
    }

    /// <summary>
    /// Adds an entry (the rule's previous one was taken out by the caller, as <c>superseded</c>). Over <see cref="MaxWaiting"/>,
    /// returns the entry that leaves: the lowest priority, then the latest expiry, then the newest. Entries awaiting their
    /// minute neither count nor leave.
    /// </summary>
    internal static WaitingDelivery? Add(UserState state, WaitingDelivery entry)
    {
        var waiting = state.Waiting ??= [];
        waiting.Add(entry);
        if (waiting.Count(w => w.Awaiting is null) <= MaxWaiting)
        {
            return null;
        }
        WaitingDelivery? leaving = null;
        foreach (var w in waiting)
        {
            if (w.Awaiting is null && (leaving is null || w.Priority < leaving.Priority || (w.Priority == leaving.Priority && w.ExpiresAt >= leaving.ExpiresAt)))
            {
                leaving = w;
            }
        }
        Remove(state, leaving!);
        return leaving;
    }

    /// <summary>Puts an entry to await its minute: beside the waiting ones, outside their bound, settled by the pace stage.</summary>
    internal static void Await(UserState state, WaitingDelivery entry, Policies.MinuteWait wait, Evaluation result)
    {
        entry.Awaiting = wait;
        (state.Waiting ??= []).Add(entry);
        result.Awaiting.Add(entry);
    }

    /// <summary>The entries awaiting their minute that <paramref name="match"/> picks, taken out of the schedule.</summary>
    internal static List<WaitingDelivery> TakeAwaiting(UserState state, Predicate<WaitingDelivery> match)
    {
        if (state.Waiting is not { } waiting)
        {
            return [];
        }
        var taken = waiting.FindAll(w => w.Awaiting is not null && match(w));
        foreach (var w in taken)
        {
            Remove(state, w);
        }
        return taken;
    }

    /// <summary>
    /// The entries whose slot has come, highest priority first, then the earliest trigger, then rule id; taken out of the schedule.
    /// Not those awaiting their minute: the pace stage settles them.
    /// </summary>
    internal static List<WaitingDelivery> TakeDue(UserState state, long nowMs)
    {
        if (state.Waiting is not { } waiting)
        {
            return [];
        }
        var due = waiting.Where(w => w.Slot <= nowMs && w.Awaiting is null).OrderByDescending(w => w.Priority).ThenBy(w => w.TriggerAt)
            .ThenBy(w => w.RuleId, StringComparer.Ordinal).ToList();
        if (due.Count > 0)
        {
            waiting.RemoveAll(w => w.Slot <= nowMs && w.Awaiting is null);
            if (waiting.Count == 0)
            {
                state.Waiting = null;
            }
        }
        return due;
    }

    /// <summary>
    /// The waiting entries a <c>cancelOn</c> event withdraws: the rule's, with the same <c>per</c> value when it has one. An entry
    /// whose value was too long to keep (null) is withdrawn by any of the rule's <c>cancelOn</c> events: better one nudge too few
    /// than a discount after the order.
    /// </summary>
    internal static List<WaitingDelivery> TakeCancelled(UserState state, string ruleId, string? per)
    {
        if (state.Waiting is not { } waiting)
        {
            return [];
        }
        var taken = waiting.FindAll(w => w.RuleId == ruleId && (per is null || w.Per is null || w.Per == per));
        foreach (var w in taken)
        {
            Remove(state, w);
        }
        return taken;
    }

    /// <summary>
    /// The key of a threshold crossing: the rule, and for <c>featureUses</c> the feature (each feature crosses on its own).
    /// Null for any other trigger.
    /// </summary>
    internal static string? CrossingKey(Rule rule, ClickEvent e) => rule.Trigger.Metric switch
    {
        null => null,
        "featureUses" => $"{rule.Id}|{e.Property("feature")}",
        _ => rule.Id,
    };

    /// <summary>Whether the crossing's candidate went unserved (expired, or dropped as blocked): it may fire again while the metric holds.</summary>
    internal static bool IsUnserved(UserState state, string key) => state.UnservedCrossings?.Contains(key) == true;

    internal static void MarkUnserved(UserState state, string key)
    {
        var unserved = state.UnservedCrossings ??= [];
        if (!unserved.Contains(key))
        {
            unserved.Add(key);
            if (unserved.Count > MaxUnserved)
            {
                unserved.RemoveAt(0);
            }
        }
    }

    /// <summary>The crossing was served: its rule produced (or waits to).</summary>
    internal static void Served(UserState state, string key)
    {
        if (state.UnservedCrossings is { } unserved && unserved.Remove(key) && unserved.Count == 0)
        {
            state.UnservedCrossings = null;
        }
    }

    /// <summary>The trigger a waiting entry was decided for, as its decisions and command name it.</summary>
    internal static TriggerInfo Trigger(WaitingDelivery w) =>
        w.Awaiting?.Command.Trigger ?? new(w.TriggerKind, w.EventIds, w.Details is null ? NoDetails : TriggerDetails.Restore(w.Details));

    /// <summary>
    /// The end of a waiting entry's stay: a follow-up decision (and its counter; one produced at its slot was counted as deferred).
    /// For a candidate awaiting its minute with no decision yet, its first decision instead: its match, stamped when it was proposed,
    /// with <see cref="Decision.Blocked"/> only when given.
    /// </summary>
    internal static void FollowUp(RuleSet rules, UserState state, WaitingDelivery w, string outcome, string? reason, DateTimeOffset now, Evaluation result, string? blocked = null)
    {
        var variant = w.Variant ?? "control";
        var first = w.Awaiting is { Decided: false } wait ? wait : null;
        var decision = new Decision(w.UserId ?? state.UserId, w.RuleId, rules.Version, outcome, reason, w.InterventionId, first?.Command.DecidedAt ?? now,
            Trigger(w), first?.Delivery)
        {
            Variant = rules.Find(w.RuleId)?.Experiment is not null ? variant : null,
            Blocked = blocked ?? (outcome == Outcomes.Suppressed && first is null ? w.Blocked : null),
            FollowUp = first is null,
            Assigned = first?.Assigned ?? false,
        };
        if (Analytics.AuditCounters.IsCounted(decision))
        {
            result.Stats.Add(new StatIncrement(w.RuleId, variant, Analytics.AuditCounters.Metric(decision)));
        }
        result.Decisions.Add(decision);
        Analytics.RetentionCounting.Enter(state, decision, result); // a first decision (awaiting its minute) can send
    }
}
