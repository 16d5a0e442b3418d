using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pacing;

/// <summary>
/// <c>policies.rateLimit</c> applied to a decided batch: each command on a limited channel asks the ledger for a minute,
/// from the one of its <c>deliverAfter</c> on; one granted later is deferred to that minute's start (<c>deferred</c>,
/// <c>rate_limit</c>); one with no free minute before its <c>expiresAt</c> is suppressed (<c>rate_limit</c>) and unsent.
/// Pure: the ledger's answers come in as a parameter.
/// </summary>
public static class RatePacing
{
    public const long MinuteMs = 60_000;

    /// <summary>
    /// How far one command looks for a free minute. A channel full for a whole day past a command's deliverAfter is an
    /// outage of its own; the command is then suppressed, as one past its expiry, rather than scanned further.
    /// </summary>
    public const int MaxScanMinutes = 1440;

    /// <summary>The batch's commands on limited channels, in batch order (each user's in decision order): their index and request.</summary>
    public static List<(int Index, MinuteRequest Request)>? Requests(RuleSet rules, BatchWork work)
    {
        if (rules.RateLimits.Count == 0)
        {
            return null;
        }
        List<(int, MinuteRequest)>? requests = null;
        for (var i = 0; i < work.Interventions.Count; i++)
        {
            var command = work.Interventions[i].Command;
            if (rules.RateLimitOf(command.Channel) is { } limit)
            {
                (requests ??= []).Add((i, Request(limit, command)));
            }
        }
        return requests;
    }

    /// <summary>The minutes a command may go out in: from its deliverAfter's to the last that starts before its expiresAt (at most a day on).</summary>
    public static MinuteRequest Request(RateLimitSpec limit, InterventionCommand command)
    {
        var from = Math.Max(0, command.DeliverAfter.ToUnixTimeMilliseconds()) / MinuteMs;
        var last = (command.ExpiresAt.ToUnixTimeMilliseconds() - 1) / MinuteMs;
        // The command's own minute is always asked for: pacing only ever delays what would otherwise be sent.
        return new MinuteRequest(limit.Channel, limit.PerMinute, from, Math.Clamp(last, from, from + MaxScanMinutes - 1));
    }

    /// <summary>
    /// Applies the ledger's answers (<paramref name="granted"/>, one per request) to the batch's commands, decisions, counters
    /// and users.
    /// </summary>
    public static void Apply(RuleSet rules, BatchWork work, List<(int Index, MinuteRequest Request)> requests, long[] granted)
    {
        Dictionary<string, int>? decisionOf = null;
        List<int>? dropped = null;
        HashSet<string>? uncancelled = null;
        for (var k = 0; k < requests.Count; k++)
        {
            var (index, request) = requests[k];
            var minute = granted[k];
            if (minute == request.FromMinute)
            {
                Settled(work, index, ref uncancelled);
                continue;
            }
            if (decisionOf is null)
            {
                decisionOf = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var d = 0; d < work.Decisions.Count; d++)
                {
                    if (work.Decisions[d].Decision is { InterventionId: { } id, Outcome: Outcomes.Emitted or Outcomes.Deferred })
                    {
                        decisionOf[id] = d;
                    }
                }
            }
            var (shard, command, parent) = work.Interventions[index];
            var decision = decisionOf.TryGetValue(command.InterventionId, out var at) ? work.Decisions[at].Decision : null;
            var wasEmitted = decision?.Outcome == Outcomes.Emitted;
            if (minute < 0)
            {
                (dropped ??= []).Add(index);
                Count(work, shard, command, wasEmitted ? "emitted" : "deferred", -1);
                Count(work, shard, command, "suppressed." + Reasons.RateLimit, 1);
                if (decision is not null)
                {
                    work.Decisions[at] = (shard, decision with { Outcome = Outcomes.Suppressed, Reason = Reasons.RateLimit });
                }
                if (UserOf(work, shard, command) is { } state)
                {
                    Unsend(rules, state, command);
                }
                Uncancel(work, shard, command, ref uncancelled);
                continue;
            }
            var moved = command with { DeliverAfter = DateTimeOffset.FromUnixTimeMilliseconds(minute * MinuteMs) };
            work.Interventions[index] = (shard, moved, parent);
            if (UserOf(work, shard, command) is { } user)
            {
                Pending(user, command, moved);
            }
            // A cancellation from later in the batch stands only if it came before the command's new time.
            if (work.Cancellations.Exists(x => x.Cancellation.InterventionId == command.InterventionId && x.Cancellation.DecidedAt >= moved.DeliverAfter))
            {
                Uncancel(work, shard, command, ref uncancelled);
            }
            if (wasEmitted)
            {
                Count(work, shard, command, "emitted", -1);
                Count(work, shard, command, "deferred", 1);
            }
            if (decision is not null)
            {
                work.Decisions[at] = (shard, decision with { Outcome = Outcomes.Deferred, Reason = Reasons.RateLimit });
            }
        }
        SettleLeftovers(work);
        // Only now: the decisions' positions (decisionOf) hold until the loop ends.
        if (uncancelled is not null)
        {
            work.Decisions.RemoveAll(d => d.Decision is { Outcome: Outcomes.Cancelled, InterventionId: { } id } && uncancelled.Contains(id));
        }
        if (dropped is not null)
        {
            foreach (var index in dropped.OrderDescending())
            {
                work.Interventions.RemoveAt(index);
                // A cancellation goes out before the command its Before names: the same command as before the removal.
                for (var x = 0; x < work.Cancellations.Count; x++)
                {
                    if (work.Cancellations[x].Before > index)
                    {
                        work.Cancellations[x] = work.Cancellations[x] with { Before = work.Cancellations[x].Before - 1 };
                    }
                }
            }
        }
    }

    // The user's state as the batch holds it; an alias's command names the anonymous id, whose state may be merged away.
    private static UserState? UserOf(BatchWork work, string shard, InterventionCommand command) =>
        work.Dirty.GetValueOrDefault(shard)?.GetValueOrDefault(command.UserId);

    /// <summary>
    /// A deferred command's pending delivery (for <c>cancelOn</c>) and its record in the sent log move with it. One sent to go out at once had none, and
    /// now waits: it gets one. One that had one and lost it was cancelled (or crowded out) in the meantime: it gets none.
    /// </summary>
    private static void Pending(UserState state, InterventionCommand command, InterventionCommand moved)
    {
        // Caps count delivery times: the send moves with the command.
        if (SentIndex(state, command) is >= 0 and var sent)
        {
            state.Sent![sent] = state.Sent[sent] with { At = moved.DeliverAfter.ToUnixTimeMilliseconds() };
        }
        if (state.PendingDeliveries?.Find(p => p.InterventionId == command.InterventionId) is { } pending)
        {
            pending.DeliverAfter = moved.DeliverAfter.ToUnixTimeMilliseconds();
            pending.AwaitingPace = false;
        }
        // No entry: a cancellation later in the batch took it (a command due at once was noted as awaiting its pace, by
        // RuleEngine), or the per value was too long to keep; either way there is nothing to note again.
    }

    /// <summary>Clears what no pacing settled (the rules changed between deciding and pacing): those entries are plain pending deliveries.</summary>
    public static void SettleLeftovers(BatchWork work)
    {
        foreach (var users in work.Dirty.Values)
        {
            foreach (var state in users.Values)
            {
                if (state.PendingDeliveries is { } pending)
                {
                    foreach (var p in pending)
                    {
                        p.AwaitingPace = false;
                    }
                }
            }
        }
    }

    /// <summary>
    /// A command that keeps its own minute: one due at once was noted as awaiting its pace, so the rest of the batch could
    /// cancel it; it goes out now after all, so that note goes, and so does a cancellation of it (its deliverAfter was
    /// never ahead). One deferred for other reasons (quiet hours) keeps its entry, now settled.
    /// </summary>
    private static void Settled(BatchWork work, int index, ref HashSet<string>? uncancelled)
    {
        var (shard, command, _) = work.Interventions[index];
        var state = UserOf(work, shard, command);
        var at = state?.PendingDeliveries?.FindIndex(p => p.InterventionId == command.InterventionId) ?? -1;
        if (at < 0)
        {
            if (command.DeliverAfter <= command.DecidedAt)
            {
                Uncancel(work, shard, command, ref uncancelled);
            }
            return;
        }
        var entry = state!.PendingDeliveries![at];
        if (entry.AwaitingPace && entry.DeliverAfter <= command.DecidedAt.ToUnixTimeMilliseconds())
        {
            DeliveryCancellation.Remove(state, at);
        }
        else
        {
            entry.AwaitingPace = false;
        }
    }

    /// <summary>A command never produced is never cancelled: a cancellation of it later in the batch goes, with its decision and count.</summary>
    private static void Uncancel(BatchWork work, string shard, InterventionCommand command, ref HashSet<string>? uncancelled)
    {
        for (var x = work.Cancellations.Count - 1; x >= 0; x--)
        {
            if (work.Cancellations[x].Cancellation.InterventionId == command.InterventionId)
            {
                work.Cancellations.RemoveAt(x);
                Count(work, shard, command, Outcomes.Cancelled, -1);
                (uncancelled ??= new HashSet<string>(StringComparer.Ordinal)).Add(command.InterventionId);
            }
        }
    }

    /// <summary>
    /// Takes back what deciding to send did to the user: the intervention record, the send counted by caps and cooldowns,
    /// and the escalation it armed. A record that one evicted stays evicted; a small loss next to a wrong cap.
    /// </summary>
    private static void Unsend(RuleSet rules, UserState state, InterventionCommand command)
    {
        state.Interventions?.RemoveAll(r => r.Id == command.InterventionId && r.Ghost != true);
        var sent = SentIndex(state, command);
        if (sent >= 0)
        {
            state.Sent!.RemoveAt(sent);
        }
        EscalationTrigger.CancelFor(rules, state, command.InterventionId);
        if (state.PendingDeliveries is { } pending && pending.RemoveAll(p => p.InterventionId == command.InterventionId) > 0 && pending.Count == 0)
        {
            state.PendingDeliveries = null;
        }
    }

    /// <summary>The command's record in the sent log (kept at its delivery time), or -1.</summary>
    private static int SentIndex(UserState state, InterventionCommand command)
    {
        var at = command.DeliverAfter.ToUnixTimeMilliseconds();
        return state.Sent?.FindLastIndex(s => s.At == at && s.RuleId == command.RuleId && s.Channel == command.Channel) ?? -1;
    }

    private static void Count(BatchWork work, string shard, InterventionCommand command, string metric, long delta) =>
        new StatIncrement(command.RuleId, command.Variant, metric).AddTo(work.CountersOf(shard), delta);
}
