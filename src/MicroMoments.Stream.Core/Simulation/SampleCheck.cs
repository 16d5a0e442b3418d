using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using MicroMoments.Stream.Core.Rules.Where;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Simulation;

/// <summary>
/// One rule against a sample of traffic (<c>rules validate --events</c>): the events named by its trigger, those its
/// <c>where</c> also lets through, and how often the trigger fired with every <c>when</c> condition holding, each with its users.
/// </summary>
public sealed record RuleSample(string RuleId, string? Event, long Named, long NamedUsers, long Matched, long MatchedUsers, long Fired, long FiredUsers)
{
    /// <summary>How often the trigger fired with no <c>when</c> condition asked (the same as <see cref="Fired"/> for a rule without any).</summary>
    public long Triggered { get; init; }

    /// <inheritdoc cref="Triggered"/>
    public long TriggeredUsers { get; init; }

    /// <summary>Each <c>when</c> condition alone: how often the trigger fired with it holding, and for how many users.</summary>
    public IReadOnlyList<ConditionSample> Conditions { get; init; } = [];
}

/// <summary>One <c>when</c> condition of a rule, asked alone over the sample.</summary>
public sealed record ConditionSample(string Condition, long Fired, long Users);

/// <summary>
/// Checks a rules file against sample events: runs them through <see cref="OfflineSimulation"/> (the worker's own logic) and
/// counts per rule what matched, then warns for event names and <c>where</c> keys the sample never has, naming the nearest
/// ones it does. <see cref="ByConstruction"/> warns, without a sample, for <c>where</c> tests that can never hold.
/// </summary>
public static class SampleCheck
{
    /// <summary>The counts per rule (file order) and the warnings; a malformed line is skipped, as simulate skips it.</summary>
    public static (IReadOnlyList<RuleSample> Rules, IReadOnlyList<string> Warnings) Run(RuleSet rules, IEnumerable<string> events)
    {
        var lines = events as IReadOnlyList<string> ?? [.. events]; // read again for each condition
        var simulation = new OfflineSimulation(rules);
        var named = rules.Rules.ToDictionary(r => r.Id, _ => (Events: 0L, Users: new HashSet<string>(StringComparer.Ordinal)), StringComparer.Ordinal);
        var matched = rules.Rules.ToDictionary(r => r.Id, _ => (Events: 0L, Users: new HashSet<string>(StringComparer.Ordinal)), StringComparer.Ordinal);
        var eventNames = new HashSet<string>(StringComparer.Ordinal);
        var keysByEvent = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        Feed(simulation, lines, (e, state) =>
        {
            eventNames.Add(e.Key);
            Keys(e, keysByEvent.TryGetValue(e.Key, out var keys) ? keys : keysByEvent[e.Key] = new HashSet<string>(StringComparer.Ordinal));
            foreach (var rule in rules.Rules)
            {
                if (rule.Trigger.Event is not { } name || e.Key != name)
                {
                    continue;
                }
                var (events, users) = named[rule.Id];
                users.Add(e.UserId);
                named[rule.Id] = (events + 1, users);
                if (state is not null && rule.Trigger.Where.Holds(e, state))
                {
                    var (m, mu) = matched[rule.Id];
                    mu.Add(e.UserId);
                    matched[rule.Id] = (m + 1, mu);
                }
            }
        });
        var fired = Fired(simulation);
        var samples = rules.Rules.Select(r =>
        {
            var (count, users) = fired.GetValueOrDefault(r.Id);
            var sample = new RuleSample(r.Id, r.Trigger.Event, named[r.Id].Events, named[r.Id].Users.Count, matched[r.Id].Events,
                matched[r.Id].Users.Count, count, users) { Triggered = count, TriggeredUsers = users };
            if (r.Conditions.Count == 0)
            {
                return sample;
            }
            // The rule again with no condition, then with each alone: the rest of the file as it is, so cross-rule triggers still work.
            var (triggered, triggeredUsers) = FiredWith(rules, r, [], lines);
            return sample with
            {
                Triggered = triggered, TriggeredUsers = triggeredUsers,
                Conditions = [.. r.Conditions.Select(c => FiredWith(rules, r, [c], lines) is var (n, u) ? new ConditionSample(Text(c), n, u) : null!)],
            };
        }).ToList();
        return (samples, Warnings(rules, eventNames, keysByEvent));
    }

    /// <summary>Feeds the sample's lines in order (a malformed one skipped, as simulate skips it), each valid event with its user's state after it.</summary>
    private static void Feed(OfflineSimulation simulation, IReadOnlyList<string> lines, Action<ClickEvent, UserState?> fed)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length > 0 && simulation.Feed(lines[i], i + 1) is { IsValid: true, Event: { } e })
            {
                fed(e, simulation.Users.GetValueOrDefault(e.UserId));
            }
        }
    }

    private static Dictionary<string, (long Count, long Users)> Fired(OfflineSimulation simulation) =>
        simulation.Decisions.Where(AuditCounters.IsMatch).GroupBy(d => d.RuleId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => ((long)g.Count(), (long)g.Select(d => d.UserId).Distinct(StringComparer.Ordinal).Count()), StringComparer.Ordinal);

    /// <summary>How often <paramref name="rule"/> fires over the sample when its <c>when</c> is <paramref name="conditions"/>.</summary>
    private static (long Count, long Users) FiredWith(RuleSet rules, Rule rule, IReadOnlyList<Condition> conditions, IReadOnlyList<string> lines)
    {
        var changed = rule.With(conditions: conditions);
        var set = new RuleSet
        {
            Version = rules.Version, Rules = [.. rules.Rules.Select(r => ReferenceEquals(r, rule) ? changed : r)], Policy = rules.Policy, Labels = rules.Labels,
            Features = rules.Features, RateLimits = rules.RateLimits, GlobalControl = rules.GlobalControl, AllowedLateness = rules.AllowedLateness,
        };
        var simulation = new OfflineSimulation(set);
        Feed(simulation, lines, (_, _) => { });
        return Fired(simulation).GetValueOrDefault(rule.Id);
    }

    /// <summary>A condition as the rules file says it: <c>state.engagementScore lt 40</c>, <c>not did trial started</c>.</summary>
    private static string Text(Condition c) => c.Did is { } did
        ? $"{(c.Operator == "not" ? "not did" : "did")} {did.Event}{(did.Where.IsEmpty ? "" : $" where {did.Where.Canonical}")}{(did.Within is { } w ? $" within {Durations.ToIso(w)}" : "")}"
        : $"{c.Path} {c.Operator} {string.Join(", ", c.Operands)}";

    /// <summary>Warnings for <c>where</c> tests that can never hold, whatever the traffic: a name the trigger's own event can never have.</summary>
    public static IReadOnlyList<string> ByConstruction(RuleSet rules)
    {
        var warnings = new List<string>();
        foreach (var rule in rules.Rules)
        {
            if (rule.Trigger.Event is not { } name)
            {
                continue;
            }
            foreach (var c in rule.Trigger.Where.Clauses.Where(c => c.Operator is WhereOperator.Equals or WhereOperator.In))
            {
                var wanted = c.Operands.Select(EventNames.Normalize).ToList();
                if (c.Key == WhereKeys.Event && !wanted.Contains(name))
                {
                    warnings.Add($"rule '{rule.Id}': where event {Quoted(c.Operands)} can never hold: the trigger's event is '{name}'");
                }
                else if (c.Key == WhereKeys.Name && !IsView(name) && !wanted.Contains(name))
                {
                    warnings.Add($"rule '{rule.Id}': where name {Quoted(c.Operands)} can never hold: for a '{name}' event, name is the event's own name " +
                        "(a page's or screen's name is matched on 'event: page' or 'event: screen')");
                }
            }
        }
        return warnings;
    }

    private static bool IsView(string key) => key is "page" or "screen";

    private static string Quoted(IReadOnlyList<string> values) => string.Join(", ", values.Select(v => $"'{v}'"));

    /// <summary>The <c>where</c> keys an event has a value for.</summary>
    private static void Keys(ClickEvent e, HashSet<string> keys)
    {
        keys.Add(WhereKeys.Event);
        if (!IsView(e.Key) || e.ViewName is not null)
        {
            keys.Add(WhereKeys.Name);
        }
        foreach (var p in e.Properties.Keys)
        {
            keys.Add(WhereKeys.Properties + p);
        }
        if (e.Device is not null)
        {
            keys.Add("context.device.type");
        }
        if (e.Timezone is not null)
        {
            keys.Add("context.timezone");
        }
        if (e.Locale is not null)
        {
            keys.Add("context.locale");
        }
    }

    private static List<string> Warnings(RuleSet rules, HashSet<string> eventNames, Dictionary<string, HashSet<string>> keysByEvent)
    {
        var warnings = new List<string>(ByConstruction(rules));
        foreach (var rule in rules.Rules)
        {
            foreach (var (what, name) in EventsOf(rule).Where(x => !eventNames.Contains(x.Name)))
            {
                warnings.Add($"rule '{rule.Id}': {what} '{name}' never occurs in the sample{Nearest(name, eventNames)}");
            }
            if (rule.Trigger.Event is { } trigger && keysByEvent.TryGetValue(trigger, out var keys))
            {
                foreach (var c in rule.Trigger.Where.Clauses.Where(c => !c.Key.StartsWith(WhereKeys.User, StringComparison.Ordinal) && !keys.Contains(c.Key)))
                {
                    var nearest = Nearest(c.Key, keys);
                    warnings.Add($"rule '{rule.Id}': where key '{c.Key}' never occurs on '{trigger}' events in the sample" + (nearest.Length > 0 ? nearest
                        : $"; they have {string.Join(", ", keys.Where(k => k != WhereKeys.Event).Order(StringComparer.Ordinal).Take(8))}"));
                }
            }
        }
        return warnings;
    }

    /// <summary>The event names a rule reads: its trigger's, an absence's missing one, <c>did</c>, <c>cancelOn</c> and its conversion.</summary>
    private static IEnumerable<(string What, string Name)> EventsOf(Rule rule)
    {
        if (rule.Trigger.Event is { } e)
        {
            yield return ("trigger event", e);
        }
        if (rule.Trigger is AbsenceTrigger { Missing: { } missing })
        {
            yield return ("missing event", missing);
        }
        foreach (var c in rule.Conditions)
        {
            if (c.Did is { } did)
            {
                yield return ("did event", did.Event);
            }
        }
        foreach (var cancel in rule.Policy.CancelOn ?? [])
        {
            yield return ("cancelOn event", cancel);
        }
        if (rule.Conversion is { } conversion)
        {
            yield return ("conversion event", conversion.Event);
        }
    }

    /// <summary>"; did you mean 'x'?" with the nearest of <paramref name="known"/> by edit distance, or nothing when none is close.</summary>
    private static string Nearest(string name, IEnumerable<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Distance(Bare(name), Bare(k)))).OrderBy(x => x.Distance).ThenBy(x => x.Key, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Key is not null && best.Distance <= Math.Max(2, Bare(name).Length / 3) ? $"; did you mean '{best.Key}'?" : "";
    }

    /// <summary>A key without its root, so <c>properties.view</c> is near <c>name</c> as well as <c>properties.viewed</c>.</summary>
    private static string Bare(string key) => key.StartsWith(WhereKeys.Properties, StringComparison.Ordinal) ? key[WhereKeys.Properties.Length..] : key;

    /// <summary>Levenshtein distance, case-insensitive.</summary>
    private static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            previous = current;
        }
        return previous[b.Length];
    }
}
