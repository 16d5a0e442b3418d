using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>The kinds of trigger a rule can have; <see cref="TriggerKinds.All"/> describes each.</summary>
public enum TriggerKind
{
    /// <summary>A single matching event.</summary>
    Event,

    /// <summary>N matching events within a sliding window, optionally per property value.</summary>
    Count,

    /// <summary>A view with no next event for a duration.</summary>
    Dwell,

    /// <summary>No event at all for a duration.</summary>
    Inactivity,

    /// <summary>Event A not followed by event B within a duration.</summary>
    Absence,

    /// <summary>A derived metric enters a range (engagement score, a feature's uses, session drop, completion speed-up, ...).</summary>
    Threshold,

    /// <summary>The user's streak of active days reaches N.</summary>
    Streak,

    /// <summary>An intervention of another rule got no response within a duration.</summary>
    Escalation,
}

/// <summary>Reads a trigger of one kind from its mapping, recording errors; <paramref name="kindText"/> is <c>kind</c> as written.</summary>
internal delegate TriggerSpec TriggerParser(NodeReader r, YamlMappingNode trigger, string ruleId, string kindText);

/// <summary>One kind of trigger: its name, the keys its mapping may have, and how it is read.</summary>
public sealed class TriggerKindInfo
{
    internal TriggerKindInfo(TriggerKind kind, string[] keys, bool firesOnTimer, TriggerParser parse)
    {
        Kind = kind;
        Name = kind.ToString().ToLowerInvariant();
        Keys = keys;
        FiresOnTimer = firesOnTimer;
        Parse = parse;
    }

    public TriggerKind Kind { get; }

    /// <summary>The kind as <c>trigger.kind</c> spells it (case-insensitively).</summary>
    public string Name { get; }

    /// <summary>Every key a trigger of this kind may have, <c>kind</c> first; any other is an error.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Fires on a timer, with no event: its rule's conditions and templates cannot read <c>event.*</c>.</summary>
    public bool FiresOnTimer { get; }

    internal TriggerParser Parse { get; }
}

/// <summary>The registry of trigger kinds: the loader reads, and the schema test checks, exactly these.</summary>
public static class TriggerKinds
{
    public static IReadOnlyList<TriggerKindInfo> All { get; } =
    [
        EventTrigger.Descriptor, CountTrigger.Descriptor, DwellTrigger.Descriptor, InactivityTrigger.Descriptor,
        AbsenceTrigger.Descriptor, ThresholdTrigger.Descriptor, StreakTrigger.Descriptor, EscalationTrigger.Descriptor,
    ];

    /// <summary>Every key any kind allows, for the message about a trigger whose kind is unknown.</summary>
    public static IReadOnlyList<string> AllKeys { get; } = All.SelectMany(k => k.Keys).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>The kind named <paramref name="name"/> (case-insensitively), or null.</summary>
    public static TriggerKindInfo? Find(string? name) =>
        name is null ? null : All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase));
}
