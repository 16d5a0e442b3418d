using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.State;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: escalation</c>: an intervention of rule <see cref="Rule"/> got no response within <see cref="TriggerSpec.Duration"/>.
/// Each emitted intervention of that rule arms a timer; a response to it (or a conversion) cancels the timer.
/// </summary>
public sealed class EscalationTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor = new(TriggerKind.Escalation, ["kind", "after", "rule"], firesOnTimer: true, Parse);

    /// <summary>Escalations may chain; the bound only guards against a cycle of them.</summary>
    private const int MaxChain = 8;

    private EscalationTrigger() : base(Descriptor)
    {
    }

    /// <summary>The id of the rule whose unanswered intervention is escalated.</summary>
    public string Rule { get; private init; } = "";

    private static EscalationTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var after = r.Duration(t, "after", required: true);
        if (string.IsNullOrWhiteSpace(r.String(t, "rule")))
        {
            r.Error(t, $"rule '{id}': an escalation trigger needs the 'rule' it escalates");
        }
        return new EscalationTrigger { Duration = after, Rule = r.String(t, "rule") ?? "" };
    }

    internal override string? CrossRuleProblem(Rule rule, IReadOnlySet<string> ids) =>
        ids.Contains(Rule) ? null : $"rule '{rule.Id}' escalates rule '{Rule}', which does not exist";

    /// <summary>The escalated rule's intent, or what its trigger watches.</summary>
    internal override string FiredIntent(RuleSet rules, int depth)
    {
        if (rules.Find(Rule) is not { } escalated)
        {
            return base.FiredIntent(rules, depth);
        }
        return escalated.Action.Intent ?? (depth + 1 < MaxChain ? escalated.Trigger.FiredIntent(rules, depth + 1) : "do");
    }

    /// <summary>
    /// An emitted intervention arms the escalation rules that watch its rule. The timer keeps the trigger's details, so
    /// the next-level nudge can name what the first one was about (<c>{{trigger.cartId}}</c>).
    /// </summary>
    internal static void Arm(RuleSet rules, UserState state, Rule emitted, InterventionCommand command, DateTimeOffset now, StateLimits limits,
        Evaluation result)
    {
        foreach (var rule in rules.Rules)
        {
            if (rule.Trigger is not EscalationTrigger t || t.Rule != emitted.Id)
            {
                continue;
            }
            var details = TriggerDetails.Store(command.Trigger.Details, limits, result);
            details["ruleId"] = emitted.Id;
            details["interventionId"] = command.InterventionId;
            result.Evicted += Timers.Arm(state, $"{rule.Id}|{emitted.Id}", rule.Id, (now + t.Duration).ToUnixTimeMilliseconds(),
                command.InterventionId, details, limits.MaxTimers);
        }
    }

    /// <summary>
    /// A response (click, dismissal, conversion event) stops the escalations of the rule it answers, and those the intervention
    /// it names armed. The caller passes the rule of the intervention the response names, never the event's own <c>ruleId</c>:
    /// feedback this user was never sent stops nothing.
    /// </summary>
    internal static void CancelOnResponse(RuleSet rules, UserState state, string ruleId, string? interventionId)
    {
        if (state.Timers is null)
        {
            return;
        }
        foreach (var timer in state.Timers.ToList())
        {
            if (rules.Find(timer.RuleId)?.Trigger.Kind == TriggerKind.Escalation
                && (timer.Details?.GetValueOrDefault("ruleId") == ruleId || (interventionId is not null && timer.ArmedBy == interventionId)))
            {
                Timers.Cancel(state, timer.Id);
            }
        }
    }

    /// <summary>A conversion is a response: the user did what was asked, so the intervention's escalation stops.</summary>
    internal static void CancelFor(RuleSet rules, UserState state, string interventionId)
    {
        foreach (var timer in state.Timers?.ToList() ?? [])
        {
            if (timer.ArmedBy == interventionId && rules.Find(timer.RuleId)?.Trigger.Kind == TriggerKind.Escalation)
            {
                Timers.Cancel(state, timer.Id);
            }
        }
    }
}
