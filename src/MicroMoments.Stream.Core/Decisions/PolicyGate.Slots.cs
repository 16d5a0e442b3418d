using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Where a candidate may go, found at delivery time (<see cref="PolicyGate.Place"/>).</summary>
/// <param name="Slot">The earliest allowed delivery time (Unix ms); meaningful when <see cref="Drop"/> is null.</param>
/// <param name="Blocked">The count limit or collision that last moved the slot (or, with <see cref="Drop"/>, that dropped it); null when only time moved it.</param>
/// <param name="Drop">The suppression reason (<c>cooldown</c>, <c>expired</c>, or a blocking reason under <c>onBlocked: drop</c>), or null.</param>
internal readonly record struct Placement(long Slot, string? Blocked, string? Drop);

public sealed partial class PolicyGate
{
    /// <summary>Slot queries per candidate: each moves the slot to the latest "not before"; past this many the candidate expires.</summary>
    internal const int MaxRounds = 32;

    /// <summary>
    /// The earliest slot at or after <paramref name="wanted"/> (already moved past quiet hours and into the send window) where
    /// every count limit allows the rule: its caps, the global caps and progressive disclosure, counted over the sent log
    /// (delivery times), the entries awaiting their minute, plus the waiting entries of at least the same priority (a lower one
    /// is checked again at its own slot, so higher priority goes first). <paramref name="notBefore"/> is a collision's floor (<c>lower_priority</c>). A rule's
    /// cooldown drops; a slot at or after <paramref name="expiresAt"/> is <c>expired</c>; under <c>onBlocked: drop</c> the
    /// first block drops with its reason. Pure: the state is only read.
    /// </summary>
    internal Placement Place(UserState state, Rule rule, string channel, long wanted, long expiresAt, long? notBefore, int priority)
    {
        var defer = rule.Policy.OnBlocked != BlockedAction.Drop;
        var t = wanted;
        string? blocked = null;
        if (notBefore > t)
        {
            if (!defer)
            {
                return new Placement(t, Reasons.LowerPriority, Reasons.LowerPriority);
            }
            (t, blocked) = (NextAllowedTime(state, rule, notBefore.Value), Reasons.LowerPriority);
        }
        var counted = Counted(state, rule, priority);
        for (var round = 0; round < MaxRounds; round++)
        {
            if (t >= expiresAt)
            {
                return new Placement(t, blocked, Reasons.Expired);
            }
            if (rule.Policy.Cooldown is { } cooldown && InCooldown(state, rule.Id, t, (long)cooldown.TotalMilliseconds))
            {
                return new Placement(t, blocked, Reasons.Cooldown);
            }
            var (next, why) = NotBefore(state, rule, channel, t, counted);
            if (why is null)
            {
                return new Placement(t, blocked, null);
            }
            if (!defer)
            {
                return new Placement(t, why, why);
            }
            blocked = why;
            t = NextAllowedTime(state, rule, next);
        }
        return new Placement(t, blocked, Reasons.Expired);
    }

    /// <summary>Whether the rule was produced (or awaits its minute) less than <paramref name="cooldownMs"/> before <paramref name="t"/>.</summary>
    private static bool InCooldown(UserState state, string ruleId, long t, long cooldownMs)
    {
        foreach (var s in CollectionsMarshal.AsSpan(state.Sent))
        {
            if (s.RuleId == ruleId && t - s.At < cooldownMs)
            {
                return true;
            }
        }
        foreach (var w in CollectionsMarshal.AsSpan(state.Waiting))
        {
            if (w.Awaiting is not null && w.RuleId == ruleId && t - w.Slot < cooldownMs)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// What caps and disclosure count: the sent log, the entries awaiting their minute (commands the rules produce, as if sent),
    /// and the waiting entries of other rules with at least this priority.
    /// </summary>
    private List<SentRecord> Counted(UserState state, Rule rule, int priority)
    {
        // Only read: with nothing waiting (most users) the sent log itself is what counts, not a copy of it.
        List<SentRecord>? counted = null;
        foreach (var w in CollectionsMarshal.AsSpan(state.Waiting))
        {
            if ((w.Awaiting is not null || (w.RuleId != rule.Id && w.Priority >= priority)) && _rules.Find(w.RuleId) is { } other)
            {
                (counted ??= new List<SentRecord>(state.Sent ?? NothingSent))
                    .Add(new SentRecord(w.Slot, w.RuleId, w.Channel, other.Action.Category, other.Action.Tip ? true : null));
            }
        }
        return counted ?? state.Sent ?? NothingSent;
    }

    /// <summary>What <see cref="Counted"/> returns for a user who was sent nothing: only ever read, never added to.</summary>
    private static readonly List<SentRecord> NothingSent = [];

    /// <summary>A time moved only by time policies: past quiet hours (even in drop mode: a deferred candidate is not dropped for them) and into the send window.</summary>
    private long NextAllowedTime(UserState state, Rule rule, long at)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(at);
        if ((rule.Policy.QuietHours ?? _rules.Policy.QuietHours) is { } quiet)
        {
            t = SendTime.NextOutside(t, quiet, state.Timezone);
        }
        if (SendWindowOf(rule) is { } window)
        {
            t = SendTime.NextInside(t, window, state.Timezone);
        }
        return t.ToUnixTimeMilliseconds();
    }

    /// <summary>Null reason when every count limit allows a delivery at <paramref name="t"/>; else the latest "not before" and its reason.</summary>
    private (long At, string? Reason) NotBefore(UserState state, Rule rule, string channel, long t, List<SentRecord> counted)
    {
        var at = t;
        string? reason = null;
        void Later(long next, string why)
        {
            if (next > at)
            {
                (at, reason) = (next, why);
            }
        }
        foreach (var cap in rule.Policy.Caps)
        {
            if (CapNotBefore(counted, cap, t, state.Timezone, rule.Id) is { } next)
            {
                Later(next, cap.Reason);
            }
        }
        foreach (var cap in _rules.Policy.Caps)
        {
            if ((cap.Channel is null || cap.Channel == channel) && (cap.Category is null || cap.Category == rule.Action.Category)
                && CapNotBefore(counted, cap, t, state.Timezone, null) is { } next)
            {
                Later(next, cap.Reason);
            }
        }
        if (rule.Action.Tip && _rules.Policy.ProgressiveDisclosure is { } period
            && UserProfile.IsNewcomer(state, DateTimeOffset.FromUnixTimeMilliseconds(t)))
        {
            // One tip per period, either side of the slot: a tip already scheduled later in the period blocks it too.
            var ms = (long)period.TotalMilliseconds;
            foreach (var s in counted)
            {
                if (s.Tip == true && Math.Abs(t - s.At) < ms)
                {
                    Later(s.At + ms, Reasons.ProgressiveDisclosure);
                }
            }
        }
        return (at, reason);
    }

    /// <summary>
    /// Null when a delivery at <paramref name="t"/> keeps every window of the cap that contains it within <c>max</c>; else the
    /// earliest time worth asking again. Rolling: the windows ending at t and at each counted delivery less than a window after it
    /// (a later delivery already scheduled counts too). Calendar days: the periods of whole local days that contain t's day.
    /// </summary>
    private static long? CapNotBefore(List<SentRecord> counted, CapSpec cap, long t, string? zone, string? ruleId) =>
        // Fewer than max deliveries within a window either side of t: no window containing t can hold max (the common case,
        // decided without allocating).
        cap.CalendarDays == 0 && Near(counted, cap, t, ruleId) < cap.Max ? null : CapNotBeforeCounting(counted, cap, t, zone, ruleId);

    private static int Near(List<SentRecord> counted, CapSpec cap, long t, string? ruleId)
    {
        var w = (long)cap.Window.TotalMilliseconds;
        var n = 0;
        foreach (var s in counted)
        {
            if (s.At > t - w && s.At < t + w && Counts(s, cap, ruleId))
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>Whether the cap counts <paramref name="s"/>: the rule's own (<paramref name="ruleId"/>) or any, on its channel and category.</summary>
    private static bool Counts(SentRecord s, CapSpec cap, string? ruleId) => (ruleId is null || s.RuleId == ruleId)
        && (cap.Channel is null || s.Channel == cap.Channel) && (cap.Category is null || s.Category == cap.Category);

    private static long? CapNotBeforeCounting(List<SentRecord> counted, CapSpec cap, long t, string? zone, string? ruleId)
    {
        if (cap.CalendarDays > 0)
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(t);
            for (var end = 0; end < cap.CalendarDays; end++)
            {
                // The period of CalendarDays days whose last day is t's day plus end.
                var to = TimeZones.StartOfLocalDay(at, zone, -end - 1);
                var from = TimeZones.StartOfLocalDay(at, zone, cap.CalendarDays - 1 - end);
                if (counted.Count(s => s.At >= from && s.At < to && Counts(s, cap, ruleId)) >= cap.Max)
                {
                    return to;
                }
            }
            return null;
        }
        var w = (long)cap.Window.TotalMilliseconds;
        var times = counted.Where(s => s.At > t - w && s.At < t + w && Counts(s, cap, ruleId)).Select(s => s.At).Order().ToList();
        // The window ending at t: once enough of its deliveries have left it, t + the gap is free of this window.
        var inWindow = times.Count(x => x <= t);
        if (inWindow >= cap.Max)
        {
            return times[inWindow - cap.Max] + w;
        }
        // A window ending at a later delivery that already holds max: the slot goes no earlier than that delivery.
        foreach (var end in times.Where(x => x > t))
        {
            if (times.Count(x => x > end - w && x <= end) >= cap.Max)
            {
                return end;
            }
        }
        return null;
    }
}
