using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Applies events to a user's state and decides interventions. Pure: no I/O and no clock of its own;
/// the caller passes the time, so the worker, <c>simulate</c> and the tests run the same logic.
/// </summary>
public sealed class RuleEngine
{
    private readonly EngineOptions _options;
    private readonly PolicyGate _gate;

    public RuleEngine(RuleSet rules, EngineOptions? options = null)
    {
        Rules = rules;
        _options = options ?? new EngineOptions();
        _gate = new PolicyGate(rules);
    }

    public RuleSet Rules { get; }

    /// <summary>Applies one event. A record at or below the user's watermark for its partition is a redelivery and changes nothing.</summary>
    public Evaluation Apply(UserState state, ClickEvent e, RecordSource source, DateTimeOffset now)
    {
        var wmKey = source.PartitionKey;
        if (state.Watermarks.TryGetValue(wmKey, out var watermark) && source.Offset <= watermark)
        {
            return Evaluation.Duplicate;
        }
        state.Watermarks[wmKey] = source.Offset;
        UserProfile.Observe(state, e);

        var ts = e.Timestamp.ToUnixTimeMilliseconds();
        var candidates = new List<Candidate>();
        foreach (var rule in Rules.Rules)
        {
            var t = rule.Trigger;
            switch (t.Kind)
            {
                case TriggerKind.Event when t.Matches(e):
                    candidates.Add(new Candidate(rule, "event", [e.MessageId], Details(e.Properties), e.MessageId, e.Timestamp));
                    break;
                case TriggerKind.Count when t.Matches(e):
                    if (CountHit(state, rule, e, ts) is { } hits)
                    {
                        var details = Details(e.Properties);
                        details["count"] = hits.Count;
                        details["window"] = Durations.ToIso(t.Duration);
                        candidates.Add(new Candidate(rule, "count", hits.Select(h => h.EventId).ToArray(), details, e.MessageId, e.Timestamp));
                    }
                    break;
                case TriggerKind.Dwell:
                    // Any event ends a dwell; a matching view starts a new one.
                    Timers.Cancel(state, rule.Id);
                    if (e.IsView && (t.View is null || string.Equals(t.View, e.ViewName, StringComparison.OrdinalIgnoreCase)))
                    {
                        Timers.Arm(state, rule.Id, rule.Id, ts + (long)t.Duration.TotalMilliseconds, e.MessageId,
                            new Dictionary<string, string> { ["view"] = e.ViewName ?? "" });
                    }
                    break;
                case TriggerKind.Inactivity:
                    Timers.Arm(state, rule.Id, rule.Id, state.LastEventAt + (long)t.Duration.TotalMilliseconds, e.MessageId, null);
                    break;
                case TriggerKind.Absence:
                    var scope = t.Per is null ? "" : e.Property(t.Per) ?? "";
                    var timerId = t.Per is null ? rule.Id : $"{rule.Id}|{scope}";
                    if (e.Key == t.Missing)
                    {
                        Timers.Cancel(state, timerId);
                    }
                    else if (t.Matches(e))
                    {
                        Timers.Arm(state, timerId, rule.Id, ts + (long)t.Duration.TotalMilliseconds, e.MessageId,
                            new Dictionary<string, string>(e.Properties, StringComparer.Ordinal));
                    }
                    break;
            }
        }
        PruneWindows(state, ts);

        var result = new Evaluation();
        Decide(state, candidates, e.Timestamp, now, result);
        return result;
    }

    /// <summary>Fires every timer of the user that is due at <paramref name="now"/>; each timer is its own trigger.</summary>
    public Evaluation FireDue(UserState state, DateTimeOffset now)
    {
        var result = new Evaluation();
        foreach (var timer in Timers.TakeDue(state, now.ToUnixTimeMilliseconds()))
        {
            if (Rules.Find(timer.RuleId) is not { } rule)
            {
                continue; // the rule was removed by a reload; its timers lapse quietly
            }
            var details = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var (k, v) in timer.Details ?? [])
            {
                details[k] = v;
            }
            details[rule.Trigger.Kind == TriggerKind.Absence ? "within" : "after"] = Durations.ToIso(rule.Trigger.Duration);
            var dueAt = DateTimeOffset.FromUnixTimeMilliseconds(timer.DueAt);
            var kind = rule.Trigger.Kind.ToString().ToLowerInvariant();
            var candidate = new Candidate(rule, kind, [timer.ArmedBy], details, $"{timer.Id}@{timer.DueAt}/{timer.ArmedBy}", dueAt);
            Decide(state, [candidate], dueAt, now, result);
        }
        return result;
    }

    private void Decide(UserState state, List<Candidate> candidates, DateTimeOffset triggerAt, DateTimeOffset now, Evaluation result)
    {
        if (candidates.Count == 0)
        {
            return;
        }
        var stale = _options.CheckStaleness && now - triggerAt > _options.MaxTriggerAge;
        var emitted = false;
        foreach (var c in candidates.OrderByDescending(c => c.Rule.Action.Priority).ThenBy(c => c.Rule.Id, StringComparer.Ordinal))
        {
            var trigger = new TriggerInfo(c.Kind, c.EventIds, c.Details);
            var id = InterventionIds.Create(state.UserId, c.Rule.Id, c.TriggerKey);
            var channel = c.Rule.Action.ChannelFor(state.Device);
            var reason = stale ? Reasons.StaleTrigger
                : emitted ? Reasons.LowerPriority
                : _gate.Check(state, c.Rule, channel, now);
            if (reason is not null)
            {
                result.Decisions.Add(new Decision(state.UserId, c.Rule.Id, Rules.Version, Outcomes.Suppressed, reason, id, now, trigger));
                continue;
            }
            emitted = true;
            var command = Build(state, c, trigger, id, channel, now);
            _gate.Record(state, c.Rule, channel, now);
            result.Interventions.Add(command);
            result.Decisions.Add(new Decision(state.UserId, c.Rule.Id, Rules.Version, Outcomes.Emitted, null, id, now, trigger));
        }
    }

    private InterventionCommand Build(UserState state, Candidate c, TriggerInfo trigger, string id, string channel, DateTimeOffset now)
    {
        var action = c.Rule.Action;
        string? Lookup(string path) => path switch
        {
            "user.id" => state.UserId,
            "user.device" => state.Device,
            "user.timezone" => state.Timezone,
            "state.lastFeature" => state.LastFeature,
            "rule.id" => c.Rule.Id,
            _ when path.StartsWith("user.traits.", StringComparison.Ordinal) =>
                state.Traits?.GetValueOrDefault(path["user.traits.".Length..]),
            _ when path.StartsWith("trigger.", StringComparison.Ordinal) =>
                c.Details.TryGetValue(path["trigger.".Length..], out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null,
            _ => null,
        };
        var m = action.Message;
        var labels = Rules.Labels;
        var message = new InterventionMessage(
            MessageTemplate.Render(m.Title, Lookup, labels),
            MessageTemplate.Render(m.Body, Lookup, labels),
            m.ActionLabel is null ? null : new MessageAction(MessageTemplate.Render(m.ActionLabel, Lookup, labels),
                m.ActionUrl is null ? null : MessageTemplate.Render(m.ActionUrl, Lookup, labels)));
        var deliverAfter = now + action.Delay;
        return new InterventionCommand
        {
            InterventionId = id,
            UserId = state.UserId,
            RuleId = c.Rule.Id,
            RuleVersion = Rules.Version,
            Moment = action.Moment,
            Channel = channel,
            Priority = action.Priority,
            Message = message,
            DeliverAfter = deliverAfter,
            ExpiresAt = deliverAfter + action.Expiry,
            Trigger = trigger,
            User = new UserSummary(UserProfile.LifecycleStage(state, now), UserProfile.Archetype(state, now), state.Device, state.Timezone),
            DecidedAt = now,
        };
    }

    /// <summary>Adds the event to its window; when the window reaches the rule's count, returns the hits and starts over.</summary>
    private static List<WindowHit>? CountHit(UserState state, Rule rule, ClickEvent e, long ts)
    {
        var t = rule.Trigger;
        var key = t.Per is null ? rule.Id : $"{rule.Id}|{e.Property(t.Per)}";
        state.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
        if (!state.Windows.TryGetValue(key, out var hits))
        {
            state.Windows[key] = hits = [];
        }
        var from = ts - (long)t.Duration.TotalMilliseconds;
        hits.RemoveAll(h => h.At <= from);
        hits.Add(new WindowHit(ts, e.MessageId));
        if (hits.Count < t.Times)
        {
            return null;
        }
        state.Windows.Remove(key);
        return hits;
    }

    private void PruneWindows(UserState state, long nowMs)
    {
        if (state.Windows is not { Count: > 0 } windows)
        {
            state.Windows = null;
            return;
        }
        foreach (var key in windows.Keys.ToList())
        {
            var ruleId = key.Split('|', 2)[0];
            var window = Rules.Find(ruleId)?.Trigger.Duration ?? TimeSpan.Zero;
            var hits = windows[key];
            hits.RemoveAll(h => h.At <= nowMs - (long)window.TotalMilliseconds);
            if (hits.Count == 0)
            {
                windows.Remove(key);
            }
        }
        if (windows.Count == 0)
        {
            state.Windows = null;
        }
    }

    private static Dictionary<string, object> Details(IReadOnlyDictionary<string, string> properties)
    {
        var d = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in properties)
        {
            d[k] = v;
        }
        return d;
    }

    private sealed record Candidate(Rule Rule, string Kind, IReadOnlyList<string> EventIds, Dictionary<string, object> Details, string TriggerKey, DateTimeOffset TriggerAt);
}
