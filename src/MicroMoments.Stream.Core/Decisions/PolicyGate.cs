using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Applies the global and per-rule policies (caps, cooldown, once per user) and records what was sent.</summary>
public sealed class PolicyGate
{
    private readonly RuleSet _rules;
    private readonly long _retentionMs;

    public PolicyGate(RuleSet rules)
    {
        _rules = rules;
        // Sent records are kept as long as the longest cap window or cooldown can look back.
        var longest = rules.Rules.SelectMany(r => r.Policy.Caps.Select(c => c.Window).Append(r.Policy.Cooldown ?? TimeSpan.Zero))
            .Concat(rules.Policy.Caps.Select(c => c.Window))
            .DefaultIfEmpty(TimeSpan.Zero).Max();
        _retentionMs = (long)Math.Max(longest.TotalMilliseconds, TimeSpan.FromDays(1).TotalMilliseconds);
    }

    /// <summary>Returns the suppression reason, or null when the rule may emit now.</summary>
    public string? Check(UserState state, Rule rule, string channel, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var sent = state.Sent ?? [];
        if (rule.Policy.OncePerUser && sent.Any(s => s.RuleId == rule.Id))
        {
            return Reasons.OncePerUser;
        }
        if (rule.Policy.Cooldown is { } cooldown && sent.Any(s => s.RuleId == rule.Id && nowMs - s.At < cooldown.TotalMilliseconds))
        {
            return Reasons.Cooldown;
        }
        foreach (var cap in rule.Policy.Caps)
        {
            if (Count(sent, cap, nowMs, rule.Id) >= cap.Max)
            {
                return cap.Reason;
            }
        }
        foreach (var cap in _rules.Policy.Caps)
        {
            if ((cap.Channel is null || cap.Channel == channel) && (cap.Moment is null || cap.Moment == rule.Action.Moment)
                && Count(sent, cap, nowMs, null) >= cap.Max)
            {
                return cap.Reason;
            }
        }
        return null;
    }

    public void Record(UserState state, Rule rule, string channel, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        state.Sent ??= [];
        state.Sent.RemoveAll(s => nowMs - s.At > _retentionMs);
        state.Sent.Add(new SentRecord(nowMs, rule.Id, channel, rule.Action.Moment));
    }

    private static int Count(List<SentRecord> sent, CapSpec cap, long nowMs, string? ruleId) =>
        sent.Count(s => nowMs - s.At < cap.Window.TotalMilliseconds
            && (ruleId is null || s.RuleId == ruleId)
            && (cap.Channel is null || s.Channel == cap.Channel)
            && (cap.Moment is null || s.Moment == cap.Moment));
}
