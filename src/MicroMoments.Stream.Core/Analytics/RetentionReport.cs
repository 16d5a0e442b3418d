namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Retention at one day: <see cref="Retained"/> of the <see cref="Users"/> for whom that day is observable, with its 95 %
/// Wilson interval (null when no user's day is observable yet).
/// </summary>
public sealed record RetentionCell(int Day, long Retained, long Users, Rate? Rate);

/// <summary>A retention curve: the users of a cohort (or arm) and their retention at each of <see cref="RetentionCounting.Days"/>.</summary>
public sealed record RetentionCurve(string Name, long Users, IReadOnlyList<RetentionCell> Cells);

/// <summary>
/// Retention of one rule's (or the whole program's, <see cref="RetentionArms.Program"/>) treated users against the global
/// control group and the experiment holdouts, per day: a difference with its 95 % interval and p-value, or null.
/// </summary>
public sealed record ArmRetention(string RuleId, RetentionCurve? Treated, RetentionCurve? GlobalControl, RetentionCurve? Holdout,
    IReadOnlyList<Comparison?> VsGlobalControl, IReadOnlyList<Comparison?> VsHoldout);

/// <summary>
/// The retention part of <c>report</c>: curves by sign-up day, and treated against control. <see cref="ObservedThrough"/>
/// is the last UTC day with activity; day N of a cohort is observable when its first day + N is not after it.
/// </summary>
public sealed record RetentionReport(string? ObservedThrough, IReadOnlyList<int> Days, IReadOnlyList<RetentionCurve> Cohorts,
    RetentionCurve? AllCohorts, IReadOnlyList<ArmRetention> Arms);
