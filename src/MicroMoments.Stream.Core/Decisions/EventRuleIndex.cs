using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The rules an event can concern, by its normalised name: event and count triggers on that name, threshold
/// and streak triggers on it or on any event, absence triggers that it starts or completes, and every dwell
/// trigger (any event ends a dwell). Inactivity and escalation rules are driven by timers, not listed here.
/// Each list keeps the file's order, so state changes happen in the same order as a scan of all rules.
/// </summary>
public sealed class EventRuleIndex
{
    /// <summary>Rules for one event name; <see cref="Metrics"/> counts the threshold and streak rules among them.</summary>
    public sealed record Entry(Rule[] Rules, int Metrics);

    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly Entry _otherKeys;

    public EventRuleIndex(IReadOnlyList<Rule> rules)
    {
        var keys = rules.SelectMany(r => new[] { r.Trigger.Event, r.Trigger.Missing }).OfType<string>().Distinct(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            _byKey[key] = Build(rules.Where(r => Concerns(r.Trigger, key)));
        }
        _otherKeys = Build(rules.Where(r => Concerns(r.Trigger, null)));
    }

    public Entry For(string eventKey) => _byKey.GetValueOrDefault(eventKey) ?? _otherKeys;

    /// <summary>Whether an event named <paramref name="key"/> (null: a name no trigger mentions) can concern the trigger.</summary>
    private static bool Concerns(TriggerSpec t, string? key) => t.Kind switch
    {
        TriggerKind.Event or TriggerKind.Count => key is not null && t.Event == key,
        TriggerKind.Threshold or TriggerKind.Streak => t.Event is null || t.Event == key,
        TriggerKind.Dwell => true,
        TriggerKind.Absence => key is not null && (t.Event == key || t.Missing == key),
        _ => false,
    };

    private static Entry Build(IEnumerable<Rule> rules)
    {
        var list = rules.ToArray();
        return new Entry(list, list.Count(r => r.Trigger.Kind is TriggerKind.Threshold or TriggerKind.Streak));
    }
}
