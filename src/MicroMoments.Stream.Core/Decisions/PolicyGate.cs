using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Applies the global and per-rule policies — once per user, cooldown, caps, progressive disclosure,
/// quiet hours and send windows — and records what was sent. The slot search at delivery time is in PolicyGate.Slots.cs.
/// </summary>
public sealed partial class PolicyGate
{
    private readonly RuleSet _rules;
    private readonly long _retentionMs;

    public PolicyGate(RuleSet rules)
    {
        _rules = rules;
        // Sent records are kept as long as the longest cap window, cooldown or disclosure period can look back.
        var longest = rules.Rules.SelectMany(r => r.Policy.Caps.Select(c => c.Lookback).Append(r.Policy.Cooldown ?? TimeSpan.Zero))
            .Concat(rules.Policy.Caps.Select(c => c.Lookback))
            .Append(rules.Policy.ProgressiveDisclosure ?? TimeSpan.Zero)
            .DefaultIfEmpty(TimeSpan.Zero).Max();
        _retentionMs = (long)Math.Max(longest.TotalMilliseconds, TimeSpan.FromDays(1).TotalMilliseconds);
    }

    /// <summary>
    /// The checks that drop rather than defer (docs/rules.md, "Deferral"): the pauses and once-per-user. Returns the
    /// suppression reason, or null. Cooldown drops too, but is counted at the delivery slot (<see cref="Place"/>).
    /// </summary>
    public string? CheckDrop(UserState state, Rule rule, DateTimeOffset now)
    {
        var (reason, startsAutoPause) = Check(state, rule, now);
        if (startsAutoPause)
        {
            state.AutoPausedAt = now.ToUnixTimeMilliseconds();
        }
        return reason;
    }

    /// <summary>
    /// <see cref="CheckDrop"/> without writing: the reason, and whether the auto-pause starts now (the caller records it). Pure.
    /// </summary>
    internal (string? Reason, bool StartsAutoPause) Check(UserState state, Rule rule, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        if ((rule.Policy.AutoPause ?? _rules.Policy.AutoPause) is { } auto)
        {
            if (state.AutoPausedAt > 0 && nowMs < state.AutoPausedAt + (long)auto.For.TotalMilliseconds)
            {
                return (Reasons.AutoPause, false);
            }
            if (UnansweredInARow(state, nowMs) >= auto.After)
            {
                return (Reasons.AutoPause, true);
            }
        }
        if (DismissalPausePolicy.PausedUntil(state, rule.Id, nowMs) is not null)
        {
            return (Reasons.DismissalPause, false);
        }
        if (rule.Policy.OncePerUser && (state.Sent?.Exists(s => s.RuleId == rule.Id) == true
            || state.Waiting?.Exists(w => w.Awaiting is not null && w.RuleId == rule.Id) == true))
        {
            return (Reasons.OncePerUser, false);
        }
        return (null, false);
    }

    /// <summary>
    /// When the command may be delivered: <paramref name="deliverAfter"/>, or later because of quiet hours or
    /// the send window (with the reason), or null with reason when quiet hours drop it.
    /// </summary>
    public (DateTimeOffset? At, string? Reason) Schedule(UserState state, Rule rule, DateTimeOffset deliverAfter)
    {
        string? reason = null;
        var at = deliverAfter;
        if ((rule.Policy.QuietHours ?? _rules.Policy.QuietHours) is { } quiet)
        {
            var outside = SendTime.NextOutside(at, quiet, state.Timezone);
            if (outside != at)
            {
                if (quiet.Drop)
                {
                    return (null, Reasons.QuietHours);
                }
                (at, reason) = (outside, Reasons.QuietHours);
            }
        }
        if (SendWindowOf(rule) is { } window)
        {
            var inside = SendTime.NextInside(at, window, state.Timezone);
            if (inside != at)
            {
                (at, reason) = (inside, Reasons.SendWindow);
            }
        }
        return (at, reason);
    }

    /// <summary>The send window: the action's own (<c>deliver: { from, to }</c>, a variant's), else the rule's policy's, else the file's.</summary>
    private TimeWindow? SendWindowOf(Rule rule) => rule.Action.SendWindow ?? rule.Policy.SendWindow ?? _rules.Policy.SendWindow;

    /// <summary>
    /// For <c>deliver: best_time</c>: the user's best local hour (<see cref="BestTime"/>) among the hours the quiet hours and send
    /// window allow, then <see cref="Schedule"/> as for any command; with a thin history, <see cref="Schedule"/> alone. Also says
    /// which hour the command went to and why, for the decision.
    /// </summary>
    public (DateTimeOffset? At, string? Reason, DeliveryChoice Choice) ScheduleBestTime(UserState state, Rule rule, DateTimeOffset deliverAfter)
    {
        var (hour, best, activeDays) = BestTime.Choose(state, rule.Policy.QuietHours ?? _rules.Policy.QuietHours,
            SendWindowOf(rule), deliverAfter);
        var (at, reason) = Schedule(state, rule, best);
        if (hour is not null && at == best && best != deliverAfter)
        {
            reason = Reasons.BestTime;
        }
        var localHour = TimeZones.Local(at ?? best, state.Timezone).Hour;
        return (at, reason, new DeliveryChoice(Reasons.BestTime, localHour, hour is null ? BestTime.ThinHistory : BestTime.FromHistory, activeDays));
    }

    /// <summary>An intervention with no click, dismissal or conversion this long after it was sent is unanswered.</summary>
    public static readonly TimeSpan NoResponseAfter = TimeSpan.FromHours(48);

    /// <summary>The newest interventions since the last auto-pause that went unanswered, up to the newest one answered.</summary>
    public static int UnansweredInARow(UserState state, long nowMs)
    {
        var count = 0;
        var records = state.Interventions;
        for (var i = (records?.Count ?? 0) - 1; i >= 0; i--)
        {
            var r = records![i];
            if (r.Ghost == true || r.At <= state.AutoPausedAt)
            {
                continue;
            }
            if (r.Converted == true || r.HasCounted(FeedbackKinds.Clicked | FeedbackKinds.Dismissed))
            {
                break;
            }
            if (nowMs - r.At >= NoResponseAfter.TotalMilliseconds)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>After a dismissal: counts it under the dismissal pause that applies to the rule (<see cref="DismissalPausePolicy"/>).</summary>
    public void Dismissed(UserState state, Rule? rule, string ruleId, long atMs) =>
        DismissalPausePolicy.Dismissed(state, rule?.Policy.DismissalPause ?? _rules.Policy.DismissalPause, ruleId, atMs);

    /// <summary>Counts a produced command (or a global control ghost) at its delivery time, for caps, cooldowns and disclosure.</summary>
    public void Record(UserState state, Rule rule, string channel, DateTimeOffset deliverAfter, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        state.Sent ??= [];
        state.Sent.RemoveAll(s => nowMs - s.At > _retentionMs);
        state.Sent.Add(new SentRecord(deliverAfter.ToUnixTimeMilliseconds(), rule.Id, channel, rule.Action.Category, rule.Action.Tip ? true : null));
    }
}
