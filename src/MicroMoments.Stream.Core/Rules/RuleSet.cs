using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>A loaded, validated rules file: the unit that <c>ruleVersion</c> identifies.</summary>
public sealed class RuleSet
{
    public required string Version { get; init; }
    public required IReadOnlyList<Rule> Rules { get; init; }
    public required PolicySpec Policy { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public Rule? Find(string id) => Rules.FirstOrDefault(r => r.Id == id);
}

/// <summary>The kinds of trigger a rule can have.</summary>
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
}

/// <summary>One rule: a trigger, an action and the policy that gates it.</summary>
public sealed class Rule
{
    public required string Id { get; init; }
    public string? Description { get; init; }
    public required TriggerSpec Trigger { get; init; }
    public required ActionSpec Action { get; init; }
    public required PolicySpec Policy { get; init; }
}

/// <summary>What makes a rule fire.</summary>
public sealed class TriggerSpec
{
    public required TriggerKind Kind { get; init; }

    /// <summary>The normalised event key (<see cref="EventNames.Normalize"/>) the trigger counts or starts on.</summary>
    public string? Event { get; init; }

    /// <summary>For <see cref="TriggerKind.Absence"/>: the event that must follow.</summary>
    public string? Missing { get; init; }

    /// <summary>For <see cref="TriggerKind.Dwell"/>: the page or screen name (null: any view).</summary>
    public string? View { get; init; }

    public int Times { get; init; } = 1;

    /// <summary>The window (count), the dwell or idle time, or how long the follow-up may take (absence).</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Count and absence: keep a separate window per value of this event property.</summary>
    public string? Per { get; init; }

    /// <summary>Property filters on the matching event: every entry must equal (case-insensitively).</summary>
    public IReadOnlyDictionary<string, string> Where { get; init; } = new Dictionary<string, string>();

    public bool Matches(ClickEvent e) => Event is not null && e.Key == Event && WhereHolds(e);

    public bool WhereHolds(ClickEvent e)
    {
        foreach (var (k, v) in Where)
        {
            if (!string.Equals(e.Property(k), v, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>What a rule asks the delivery services to show.</summary>
public sealed class ActionSpec
{
    public required string Moment { get; init; }

    /// <summary>The channel, or per-device channels with a "default" entry.</summary>
    public required IReadOnlyDictionary<string, string> Channels { get; init; }

    public int Priority { get; init; } = 50;
    public TimeSpan Delay { get; init; }
    public TimeSpan Expiry { get; init; } = TimeSpan.FromHours(1);
    public required MessageSpec Message { get; init; }

    public string ChannelFor(string? device) =>
        device is not null && Channels.TryGetValue(device, out var c) ? c : Channels["default"];
}

/// <summary>A message template; placeholders such as <c>{{trigger.task}}</c> are filled per intervention.</summary>
public sealed record MessageSpec(string Title, string Body, string? ActionLabel, string? ActionUrl);

/// <summary>Gates on emitting: caps and cooldown. Global in the file, or per rule.</summary>
public sealed class PolicySpec
{
    public static readonly PolicySpec None = new();

    public IReadOnlyList<CapSpec> Caps { get; init; } = [];
    public TimeSpan? Cooldown { get; init; }
    public bool OncePerUser { get; init; }
}

/// <summary>At most <see cref="Max"/> interventions in any rolling <see cref="Window"/>, optionally only counting one channel or moment.</summary>
public sealed record CapSpec(int Max, TimeSpan Window, string? Channel = null, string? Moment = null)
{
    public string Reason => Window == TimeSpan.FromHours(1) && Channel is null && Moment is null ? "hourly_cap" : "window_cap";
}
