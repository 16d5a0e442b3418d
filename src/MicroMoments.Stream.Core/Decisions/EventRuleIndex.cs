using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The rules an event can concern, by its normalised name: each trigger says which names it concerns
/// (<see cref="TriggerSpec.Concerns"/>); escalation concerns none, inactivity every name (a reordered event splits an idle
/// stretch). Each list keeps the
/// file's order, so state changes happen in the same order as a scan of all rules.
/// </summary>
public sealed class EventRuleIndex
{
    /// <summary>Rules for one event name; <see cref="Metrics"/> counts those among them that watch a metric.</summary>
    public sealed record Entry(Rule[] Rules, int Metrics);

    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly Entry _otherKeys;

    public EventRuleIndex(IReadOnlyList<Rule> rules)
    {
        foreach (var key in rules.SelectMany(r => r.Trigger.IndexKeys).Distinct(StringComparer.Ordinal))
        {
            _byKey[key] = Build(rules.Where(r => r.Trigger.Concerns(key)));
        }
        _otherKeys = Build(rules.Where(r => r.Trigger.Concerns(null)));
    }

    public Entry For(string eventKey) => _byKey.GetValueOrDefault(eventKey) ?? _otherKeys;

    private static Entry Build(IEnumerable<Rule> rules)
    {
        var list = rules.ToArray();
        return new Entry(list, list.Count(r => r.Trigger.Metric is not null));
    }
}
