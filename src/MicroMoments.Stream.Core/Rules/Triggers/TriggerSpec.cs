using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules.Where;
using MicroMoments.Stream.Core.State;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// What makes a rule fire. Each kind is a sealed subclass in a file of its own, which owns the kind's keys and their
/// validation, its entry in <see cref="EventRuleIndex"/>, what it does on an event and what it does when its timer
/// fires; <see cref="TriggerKinds"/> lists the kinds. Adding a kind is one file, a line there, and the schema.
/// </summary>
public abstract class TriggerSpec
{
    private protected TriggerSpec(TriggerKindInfo info) => Info = info;

    /// <summary>The kind and its keys.</summary>
    public TriggerKindInfo Info { get; }

    public TriggerKind Kind => Info.Kind;

    /// <summary>The kind as rules files and commands spell it (<c>trigger.kind</c>).</summary>
    public string Name => Info.Name;

    /// <summary>The normalised event key (<see cref="EventNames.Normalize"/>) the trigger watches; null for a kind that watches none.</summary>
    public string? Event { get; init; }

    /// <summary>The matching event's <c>where</c> (docs/rules.md, "<c>where</c>"): every clause must hold.</summary>
    public WhereFilter Where { get; init; } = WhereFilter.None;

    /// <summary>The window, the dwell or idle time, or the wait for a follow-up or a response; zero for a kind with none.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The metric a threshold or streak trigger watches (<see cref="Metrics"/>); null for other kinds.</summary>
    public string? Metric { get; init; }

    /// <summary>Whether <paramref name="e"/> is the watched event and its <see cref="Where"/> holds (<c>user.*</c> read from <paramref name="state"/>).</summary>
    public bool Matches(ClickEvent e, UserState state) => Event is not null && e.Key == Event && Where.Holds(e, state);

    /// <summary>The event names this trigger names: each gets an entry of its own in <see cref="EventRuleIndex"/>.</summary>
    internal virtual IEnumerable<string> IndexKeys => Event is null ? [] : [Event];

    /// <summary>
    /// Whether an event named <paramref name="key"/> (null: a name no trigger names) can concern the trigger. Only the
    /// triggers this holds for see <see cref="OnEvent"/>.
    /// </summary>
    internal virtual bool Concerns(string? key) => false;

    /// <summary>
    /// Applies an event the index names this trigger for: updates the trigger's state (windows, timers) and adds a
    /// candidate when the rule fires. <paramref name="before"/> is <see cref="Metric"/> as it stood at the user's previous event.
    /// </summary>
    internal virtual void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
    }

    /// <summary>Adds what the firing of the trigger's timer tells a message to the details the timer kept.</summary>
    internal virtual void OnFire(Dictionary<string, object> details) => details["after"] = Durations.ToIso(Duration);

    /// <summary>
    /// The intent a command of a rule fired by a timer serves when the rule names none: the event's the trigger
    /// watches. <paramref name="depth"/> bounds a chain of escalations.
    /// </summary>
    internal virtual string FiredIntent(RuleSet rules, int depth) => Event is { } key ? UserProfile.IntentOf(key, isView: false) : "do";

    /// <summary>A problem only the whole rule set shows (an escalation of a rule that does not exist), or null.</summary>
    internal virtual string? CrossRuleProblem(Rule rule, IReadOnlySet<string> ids) => null;

    /// <summary>
    /// For a timer that fires after a quiet stretch of <see cref="Duration"/> (dwell, inactivity): an event stamped within a
    /// stretch whose timer already fired, arriving after it, shows that timestamp order would not have fired it. Its command
    /// is withdrawn while ahead of its <c>deliverAfter</c> (the command's record keeps the due time as its trigger time).
    /// </summary>
    private protected static void WithdrawEndedStretch(Rule rule, ref TriggerEvent on)
    {
        var ts = on.Timestamp;
        var stretch = (long)rule.Trigger.Duration.TotalMilliseconds;
        if (on.State.PendingDeliveries is not { } pending)
        {
            return;
        }
        foreach (var p in pending)
        {
            if (p.RuleId == rule.Id && on.State.Interventions?.FindLast(r => r.Id == p.InterventionId) is { } sent
                && sent.At - stretch < ts && ts <= sent.At)
            {
                on.Retract(rule.Id, p.InterventionId);
            }
        }
    }

    /// <summary>The <c>event</c> key, normalised.</summary>
    private protected static string? ReadEvent(NodeReader r, YamlMappingNode t) => r.String(t, "event") is { } e ? EventNames.Normalize(e) : null;
}
