using System.Globalization;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>What a placeholder or condition can see when a rule fires.</summary>
public sealed record ValueContext(
    UserState State,
    RuleSet Rules,
    DateTimeOffset Now,
    ClickEvent? Event = null,
    IReadOnlyDictionary<string, object>? Details = null,
    Rule? Rule = null)
{
    /// <summary>The learned segments <c>user.cluster</c> is assigned from; null when no segments file is loaded.</summary>
    public Segments.SegmentModel? Segments { get; init; }
}

/// <summary>
/// The value paths of templates (<c>{{...}}</c>) and conditions (<c>when</c>): <c>user.*</c> (with
/// <c>user.location.*</c> and <c>user.group.*</c>),
/// <c>state.*</c>, <c>event.*</c>, <c>trigger.*</c>, <c>time.*</c> and <c>rule.id</c>.
/// </summary>
public static class ValuePaths
{
    private static readonly string[] Exact =
    [
        "user.id", "user.device", "user.timezone", "user.lifecycleStage", "user.segment", "user.archetype", "user.cluster",
        "state.engagementScore", "state.streakDays", "state.lastFeature", "state.topFeature", "state.unusedFeature", "state.featuresUsed",
        "state.onboardingStep", "state.onboardingTotal", "state.onboardingCompleted", "state.lastSessionMinutes",
        "state.sessionBaselineMinutes", "state.hoursSinceLastEvent",
        "event.name", "event.intent", "event.view",
        "time.hour", "time.dayOfWeek", "time.localTime",
        "rule.id",
    ];

    private static readonly string[] Prefixes = ["user.traits.", "user.location.", "user.group.", "state.featureUses.", "event.", "trigger."];

    /// <summary>The first segment of every path.</summary>
    public static readonly IReadOnlyList<string> Roots = ["user", "state", "event", "trigger", "time", "rule"];

    /// <summary>Why a template or condition path cannot resolve, or null when it is known.</summary>
    public static string? Problem(string path)
    {
        if (IsKnown(path))
        {
            return null;
        }
        var dot = path.IndexOf('.', StringComparison.Ordinal);
        var root = dot < 0 ? path : path[..dot];
        return Roots.Contains(root, StringComparer.Ordinal)
            ? $"unknown path '{path}' (see docs/rules.md, \"Value paths\")"
            : $"unknown path root '{root}' in '{path}': a path starts with {string.Join(", ", Roots.Select(r => r + "."))} (see docs/rules.md, \"Value paths\")";
    }

    public static bool IsKnown(string path) =>
        Exact.Contains(path, StringComparer.Ordinal) || Prefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal) && path.Length > p.Length);

    public static string? Resolve(string path, ValueContext c)
    {
        var s = c.State;
        var inv = CultureInfo.InvariantCulture;
        if (path == "user.cluster")
        {
            return c.Segments?.Assign(s, c.Now);
        }
        if (path.StartsWith("user.", StringComparison.Ordinal))
        {
            return ResolveUser(path, s, c.Now);
        }
        switch (path)
        {
            case "state.engagementScore": return UserProfile.EngagementScore(s, c.Now).ToString(inv);
            case "state.streakDays": return UserProfile.Streak(s, c.Now).ToString(inv);
            case "state.lastFeature": return s.LastFeature;
            case "state.topFeature": return UserProfile.TopFeature(s);
            case "state.unusedFeature": return UserProfile.UnusedFeature(s, c.Rules.Features);
            case "state.featuresUsed": return (s.FeatureCounts?.Count ?? 0).ToString(inv);
            case "state.onboardingStep": return s.OnboardingStep.ToString(inv);
            case "state.onboardingTotal": return s.OnboardingTotal.ToString(inv);
            case "state.onboardingCompleted": return s.OnboardingCompleted ? "true" : "false";
            case "state.lastSessionMinutes": return Math.Round(s.LastSessionMs / 60000.0, 1).ToString(inv);
            case "state.sessionBaselineMinutes": return Math.Round(s.SessionBaselineMs / 60000.0, 1).ToString(inv);
            case "state.hoursSinceLastEvent": return Math.Round((c.Now.ToUnixTimeMilliseconds() - s.LastEventAt) / 3_600_000.0, 1).ToString(inv);
            case "event.name": return c.Event?.Name;
            case "event.intent": return c.Event is null ? null : UserProfile.Intent(c.Event);
            case "event.view": return c.Event?.ViewName;
            case "time.hour": return TimeZones.Local(c.Now, s.Timezone).Hour.ToString(inv);
            case "time.dayOfWeek": return TimeZones.Local(c.Now, s.Timezone).DayOfWeek.ToString().ToLowerInvariant();
            case "time.localTime": return TimeZones.Local(c.Now, s.Timezone).ToString("HH:mm", inv);
            case "rule.id": return c.Rule?.Id;
        }
        if (path.StartsWith("state.featureUses.", StringComparison.Ordinal))
        {
            return (s.FeatureCounts?.GetValueOrDefault(path["state.featureUses.".Length..]) ?? 0).ToString(inv);
        }
        if (path.StartsWith("event.", StringComparison.Ordinal))
        {
            return c.Event?.Property(path["event.".Length..]);
        }
        if (path.StartsWith("trigger.", StringComparison.Ordinal) && c.Details is not null
            && c.Details.TryGetValue(path["trigger.".Length..], out var v))
        {
            return Convert.ToString(v, inv);
        }
        return null;
    }

    /// <summary>
    /// A <c>user.*</c> path other than <c>user.cluster</c> (which needs the learned segments): what the user's state alone
    /// answers at <paramref name="now"/>, so a trigger's <c>where</c> can read it too.
    /// </summary>
    public static string? ResolveUser(string path, UserState s, DateTimeOffset now)
    {
        switch (path)
        {
            case "user.id": return s.UserId;
            case "user.device": return s.Device;
            case "user.timezone": return s.Timezone;
            case "user.lifecycleStage": return UserProfile.LifecycleStage(s, now);
            case "user.segment": return UserProfile.Segment(s, now);
            case "user.archetype": return UserProfile.Archetype(s, now);
        }
        if (path.StartsWith("user.traits.", StringComparison.Ordinal))
        {
            return s.Traits?.GetValueOrDefault(path["user.traits.".Length..]);
        }
        if (path.StartsWith("user.location.", StringComparison.Ordinal) || path.StartsWith("user.group.", StringComparison.Ordinal))
        {
            return s.Attributes?.GetValueOrDefault(path["user.".Length..]);
        }
        return null;
    }
}

/// <summary>The metrics a threshold trigger can watch.</summary>
public static class Metrics
{
    public static readonly string[] Names =
        ["engagementScore", "featureUses", "featuresUsed", "streakDays", "onboardingStep", "completionSpeedup", "sessionDrop"];

    public static bool IsKnown(string? name) => name is not null && Names.Contains(name, StringComparer.Ordinal);

    /// <summary>The metric's value now; <paramref name="observation"/> is null when reading the value before the event.</summary>
    public static double? Read(string metric, UserState s, ClickEvent e, Observation? observation, DateTimeOffset now) => metric switch
    {
        "engagementScore" => UserProfile.EngagementScore(s, now),
        "featureUses" => e.Property("feature") is { } f ? s.FeatureCounts?.GetValueOrDefault(f) ?? 0 : null,
        "featuresUsed" => s.FeatureCounts?.Count ?? 0,
        "streakDays" => UserProfile.Streak(s, now),
        "onboardingStep" => s.OnboardingStep,
        "completionSpeedup" => observation?.CompletionSpeedup,
        "sessionDrop" => observation?.SessionDrop,
        _ => null,
    };
}
