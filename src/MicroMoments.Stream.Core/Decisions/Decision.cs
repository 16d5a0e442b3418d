using System.Text.Json.Serialization;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>One audit record per rule that matched (docs/wire-formats.md, "Decisions").</summary>
public sealed record Decision(
    string UserId,
    string RuleId,
    string RuleVersion,
    string Outcome,
    string? Reason,
    string? InterventionId,
    DateTimeOffset At,
    TriggerInfo Trigger,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DeliveryChoice? Delivery = null)
{
    /// <summary>The experiment arm the user is in, for a rule with an experiment (or <c>global_control</c>); absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }

    /// <summary>
    /// For a candidate deferred into the schedule, or suppressed <c>expired</c> (or <c>superseded</c>, <c>schedule_full</c>) from it:
    /// the count limit or collision that blocked it (<c>hourly_cap</c>, <c>progressive_disclosure</c>, <c>lower_priority</c>, …).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Blocked { get; init; }

    /// <summary>
    /// The end of a waiting candidate's stay in the schedule (produced at its slot, expired, superseded, withdrawn): a follow-up
    /// of the <c>deferred</c> decision that was its match, so it is not a match of its own (<see cref="Analytics.AuditCounters"/>).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool FollowUp { get; init; }

    /// <summary>
    /// An <c>allocation: bandit</c> experiment gave the user <see cref="Variant"/> with this decision (their first exposure):
    /// counted per UTC day for the arm's share over time (<see cref="ArmAllocator.AssignedMetric"/>).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Assigned { get; init; }
}

/// <summary>The decision outcomes (docs/wire-formats.md, "Decisions").</summary>
public static class Outcomes
{
    public const string Emitted = "emitted";
    public const string Suppressed = "suppressed";
    public const string Deferred = "deferred";
    public const string HeldOut = "held_out";

    /// <summary>A command sent earlier was withdrawn before its deliverAfter (reason: <see cref="Interventions.CancelReasons"/>).</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>The decision reasons (docs/wire-formats.md, "Decisions").</summary>
public static class Reasons
{
    public const string HourlyCap = "hourly_cap";
    public const string WindowCap = "window_cap";
    public const string Cooldown = "cooldown";
    public const string OncePerUser = "once_per_user";
    public const string LowerPriority = "lower_priority";
    public const string StaleTrigger = "stale_trigger";

    /// <summary>The event was stamped earlier than the user's latest event by more than <c>policies.allowedLateness</c>: it updated state only.</summary>
    public const string LateEvent = "late_event";
    public const string QuietHours = "quiet_hours";
    public const string SendWindow = "send_window";
    public const string BestTime = "best_time";
    public const string ProgressiveDisclosure = "progressive_disclosure";
    public const string DismissalPause = "dismissal_pause";
    public const string AutoPause = "auto_pause";
    public const string Holdout = "holdout";
    public const string GlobalControl = "global_control";
    public const string RateLimit = "rate_limit";
    public const string Duplicate = "duplicate";

    /// <summary>No slot before the command's expiresAt (the decision's <see cref="Decision.Blocked"/> says what blocked it).</summary>
    public const string Expired = "expired";

    /// <summary>A waiting candidate replaced by a newer one of the same rule (at most one waits per rule and user).</summary>
    public const string Superseded = "superseded";

    /// <summary>A waiting candidate crowded out of a full schedule (<see cref="DeliverySchedule.MaxWaiting"/>).</summary>
    public const string ScheduleFull = "schedule_full";
}
