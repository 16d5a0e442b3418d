using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules.Triggers;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>A loaded, validated rules file: the unit that <c>ruleVersion</c> identifies.</summary>
public sealed class RuleSet
{
    public required string Version { get; init; }
    public required IReadOnlyList<Rule> Rules { get; init; }
    public required PolicySpec Policy { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The product's features, in the order to suggest them (<c>{{state.unusedFeature}}</c>).</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary><c>policies.rateLimit</c>: per-channel commands per minute of delivery, shared by every instance (docs/rules.md, "Pacing").</summary>
    public IReadOnlyList<RateLimitSpec> RateLimits { get; init; } = [];

    /// <summary>The rate limit of <paramref name="channel"/>, or null when it has none.</summary>
    public RateLimitSpec? RateLimitOf(string channel)
    {
        foreach (var limit in RateLimits)
        {
            if (limit.Channel == channel)
            {
                return limit;
            }
        }
        return null;
    }

    /// <summary><c>policies.globalControl</c>: the share of users held out of every rule (docs/rules.md, "Global control group").</summary>
    public double GlobalControl { get; init; }

    /// <summary>
    /// <c>policies.allowedLateness</c>: how far a user's event may be stamped before the user's latest event and still give the
    /// commands of timestamp order; zero for arrival order (docs/rules.md, "Allowed lateness").
    /// </summary>
    public TimeSpan AllowedLateness { get; init; } = GlobalPolicies.DefaultAllowedLateness;

    /// <summary><see cref="AllowedLateness"/> in milliseconds.</summary>
    public long LatenessMs => (long)AllowedLateness.TotalMilliseconds;

    private Dictionary<string, Rule>? _byId;

    private Dictionary<string, Rule> ById => _byId ??= Rules.ToDictionary(r => r.Id, StringComparer.Ordinal);

    public Rule? Find(string id) => ById.GetValueOrDefault(id);

    /// <summary>The rule with this id, looked up without making a string (for ids cut out of a longer key).</summary>
    public Rule? Find(ReadOnlySpan<char> id) =>
        ById.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(id, out var rule) ? rule : null;
}

/// <summary>One rule: a trigger, an action and the policy that gates it.</summary>
public sealed class Rule
{
    public required string Id { get; init; }
    public string? Description { get; init; }
    public required TriggerSpec Trigger { get; init; }

    /// <summary>Audience and context conditions (<c>when</c>); all must hold when the trigger fires.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    public required ActionSpec Action { get; init; }
    public required PolicySpec Policy { get; init; }

    /// <summary>Variants and a holdout share, assigned per user by a stable hash.</summary>
    public ExperimentSpec? Experiment { get; init; }

    /// <summary>The event that counts as a conversion when it follows an intervention (or a held-out ghost) within a window.</summary>
    public ConversionSpec? Conversion { get; init; }

    private Dictionary<string, Rule>? _arms;

    /// <summary>
    /// The rule as an experiment arm delivers it: its action with the variant's delay, deliver, channels and message (docs/rules.md,
    /// "Experiments"). The rule itself without an experiment, for the holdout, the global control group and a variant that
    /// changes nothing. A null variant is "control" (a waiting entry stores no name for it), which may change things too.
    /// </summary>
    public Rule ForVariant(string? variant)
    {
        if (Experiment is null)
        {
            return this;
        }
        // Built once, on first use; two threads building it at once build the same thing.
        _arms ??= Experiment.Variants.Where(v => v.Changes).ToDictionary(v => v.Name, v => With(action: Action.Vary(v)), StringComparer.Ordinal);
        return _arms.GetValueOrDefault(variant ?? "control", this);
    }

    /// <summary>This rule with another action or other <c>when</c> conditions; everything else, the id included, the same.</summary>
    internal Rule With(ActionSpec? action = null, IReadOnlyList<Condition>? conditions = null) => new()
    {
        Id = Id, Description = Description, Trigger = Trigger, Conditions = conditions ?? Conditions, Action = action ?? Action, Policy = Policy,
        Experiment = Experiment, Conversion = Conversion,
    };
}

/// <summary>
/// An experiment on a rule: a holdout share and weighted variants that may change the message, the timing and the channel.
/// <see cref="Bandit"/>: new exposures go to arms by Thompson sampling on their conversions instead of by weight.
/// </summary>
public sealed record ExperimentSpec(string Name, double Holdout, IReadOnlyList<VariantSpec> Variants, bool Bandit = false);

/// <summary>One variant; each null keeps the rule's own (a null message, delay, deliver or channels).</summary>
public sealed record VariantSpec(string Name, double Weight, MessageSpec? Message)
{
    /// <summary><c>delay</c>: how long after the trigger it is delivered.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary><c>deliver</c>: now, <c>best_time</c> or a send window.</summary>
    public DeliverSpec? Deliver { get; init; }

    /// <summary><c>channel</c> or per-device <c>channels</c> (with a "default").</summary>
    public IReadOnlyDictionary<string, string>? Channels { get; init; }

    /// <summary>Whether it changes anything of the rule's action.</summary>
    public bool Changes => Message is not null || Delay is not null || Deliver is not null || Channels is not null;
}

/// <summary><c>deliver</c>: <c>now</c>, <c>best_time</c>, or a send window (<c>{ from: "18:00", to: "21:00" }</c>) of its own.</summary>
public sealed record DeliverSpec(bool BestTime, TimeWindow? Window);

/// <summary>A conversion: <see cref="Event"/> (normalised) within <see cref="Within"/> of the intervention.</summary>
public sealed record ConversionSpec(string Event, TimeSpan Within);

/// <summary>One <c>when</c> condition: a value path, an operator and its operands (which may hold placeholders).</summary>
public sealed record Condition(string Path, string Operator, IReadOnlyList<string> Operands)
{
    /// <summary>For <c>{ did: ... }</c> (<see cref="Operator"/> <c>did</c>) and <c>{ not: { did: ... } }</c> (<c>not</c>); null for a path condition.</summary>
    public DidCondition? Did { get; init; }

    /// <summary>A <c>did</c> (or its negation) of <paramref name="did"/>.</summary>
    public static Condition Of(DidCondition did, bool negated) => new("did", negated ? "not" : "did", []) { Did = did };
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

    /// <summary>The intent the nudge serves (know, go, do, buy); stamped on the command. Null: the triggering event's.</summary>
    public string? Intent { get; init; }

    /// <summary>The cap category; defaults to the moment.</summary>
    public required string Category { get; init; }

    /// <summary>A new-feature tip: subject to progressive disclosure in the user's first days.</summary>
    public bool Tip { get; init; }

    /// <summary><c>deliver: best_time</c>: deliver at the user's most active local hour (<see cref="Decisions.BestTime"/>).</summary>
    public bool BestTime { get; init; }

    /// <summary><c>deliver: { from, to }</c>: the action's own send window, in place of the rule's and the file's.</summary>
    public TimeWindow? SendWindow { get; init; }

    /// <summary>This action with what a variant sets in place of its own.</summary>
    public ActionSpec Vary(VariantSpec v) => new()
    {
        Moment = Moment, Channels = v.Channels ?? Channels, Priority = Priority, Delay = v.Delay ?? Delay, Expiry = Expiry,
        Message = v.Message ?? Message, Intent = Intent, Category = Category, Tip = Tip,
        BestTime = v.Deliver?.BestTime ?? BestTime, SendWindow = v.Deliver is { } d ? d.Window : SendWindow,
    };

    /// <summary>The channel for a device class; a tablet without its own channel uses the mobile one (apps run on both).</summary>
    public string ChannelFor(string? device) =>
        device is not null && Channels.TryGetValue(device, out var c) ? c
        : device == DeviceTypes.Tablet && Channels.TryGetValue(DeviceTypes.Mobile, out var m) ? m
        : Channels["default"];
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

    /// <summary>Hours in the user's time zone when nothing is sent: deferred to their end, or dropped.</summary>
    public TimeWindow? QuietHours { get; init; }

    /// <summary>Hours in the user's time zone to send in; outside them the command is deferred into the next window.</summary>
    public TimeWindow? SendWindow { get; init; }

    /// <summary>Global: at most one tip per this period in the user's first days (<see cref="Decisions.UserProfile.NewcomerPeriod"/>).</summary>
    public TimeSpan? ProgressiveDisclosure { get; init; }

    /// <summary>Pause a rule, or with <c>scope: user</c> every rule, for a user after this many dismissals (<see cref="DismissalPausePolicy"/>).</summary>
    public DismissalPauseSpec? DismissalPause { get; init; }

    /// <summary>Pause all nudges for a user after this many unanswered interventions in a row (filled in by the feedback loop).</summary>
    public PauseSpec? AutoPause { get; init; }

    /// <summary>
    /// Per rule: events (normalised) that cancel the rule's pending timers and its sent commands not yet due for delivery
    /// (<see cref="Decisions.DeliveryCancellation"/>). Null: not set (an absence rule then uses its <c>missing</c> event).
    /// </summary>
    public IReadOnlyList<string>? CancelOn { get; init; }

    /// <summary>
    /// Per rule: what a cap, progressive disclosure or a lower-priority collision does to a candidate (docs/rules.md, "Deferral").
    /// Null: not set, which is <see cref="BlockedAction.Defer"/>.
    /// </summary>
    public BlockedAction? OnBlocked { get; init; }
}

/// <summary><c>policy.onBlocked</c>: a blocked candidate waits for the earliest allowed slot (defer), or is suppressed (drop).</summary>
public enum BlockedAction
{
    Defer,
    Drop,
}

/// <summary>A daily window of local time, which may wrap midnight (22:00–08:00); <see cref="Drop"/> drops instead of deferring.</summary>
public sealed record TimeWindow(TimeSpan From, TimeSpan To, bool Drop = false)
{
    public bool Contains(TimeSpan timeOfDay) =>
        From <= To ? timeOfDay >= From && timeOfDay < To : timeOfDay >= From || timeOfDay < To;
}

/// <summary>After <see cref="After"/> occurrences, pause for <see cref="For"/>.</summary>
public sealed record PauseSpec(int After, TimeSpan For);

/// <summary>
/// At most <see cref="Max"/> interventions in any rolling <see cref="Window"/>, or with <see cref="CalendarDays"/> in the user's
/// local calendar days (today and the days before it), optionally only counting one channel or category.
/// </summary>
public sealed record CapSpec(int Max, TimeSpan Window, string? Channel = null, string? Category = null, int CalendarDays = 0)
{
    /// <summary>How far back the cap can count: a calendar day can be 25 hours long, so a day more than its days.</summary>
    public TimeSpan Lookback => CalendarDays > 0 ? Window + TimeSpan.FromDays(1) : Window;

    public string Reason => Window == TimeSpan.FromHours(1) && Channel is null && Category is null ? "hourly_cap" : "window_cap";
}
