using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// The treated and control groups of the retention report: per rule, and for the whole program (<see cref="Program"/>),
/// the users sent a command (<see cref="Treated"/>), the global control group's (<see cref="GlobalControl"/>) and the
/// experiment holdouts' (<see cref="Holdout"/>) users with a ghost.
/// </summary>
public static class RetentionArms
{
    public const string Treated = "treated";
    public const string GlobalControl = Reasons.GlobalControl;
    public const string Holdout = Reasons.Holdout;

    /// <summary>The rule id that stands for every rule at once.</summary>
    public const string Program = "*";

    /// <summary>
    /// The arm a decision puts its user in: <see cref="Treated"/> for a command sent as <c>report</c> counts sent (outcome
    /// <c>emitted</c> or <c>deferred</c>; a deferred candidate's later <c>emitted</c> follow-up is the same command),
    /// a control arm for a ghost (<c>held_out</c> with reason <c>global_control</c> or <c>holdout</c>); null otherwise.
    /// </summary>
    public static string? Of(Decision d) => d.Outcome switch
    {
        Outcomes.Emitted or Outcomes.Deferred when AuditCounters.IsCounted(d) => Treated,
        Outcomes.HeldOut when d.Reason is Reasons.GlobalControl => GlobalControl,
        Outcomes.HeldOut when d.Reason is Reasons.Holdout => Holdout,
        _ => null,
    };

    /// <summary>The counter suffix of an arm of a rule (or of <see cref="Program"/>): <c>.&lt;arm&gt;:&lt;rule&gt;</c>.</summary>
    public static string Suffix(string arm, string ruleId) => $".{arm}:{ruleId}";

    /// <summary>The arm and rule of a counter suffix (without its leading dot); null when it names no known arm.</summary>
    public static (string Arm, string RuleId)? Parse(string suffix)
    {
        var colon = suffix.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return null;
        }
        var arm = suffix[..colon];
        return arm is Treated or GlobalControl or Holdout ? (arm, suffix[(colon + 1)..]) : null;
    }
}
