using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Policies;

/// <summary>Whose dismissals a dismissal pause counts, and what it pauses.</summary>
public enum DismissalPauseScope
{
    /// <summary>A rule's own dismissed interventions pause that rule (the default).</summary>
    Rule,

    /// <summary>Dismissed interventions of any rule are counted together and pause every rule.</summary>
    User,
}

/// <summary>
/// <c>dismissalPause: { after, for, scope }</c>: after <see cref="After"/> distinct dismissed interventions, pause for
/// <see cref="For"/> the dismissed rule (<see cref="DismissalPauseScope.Rule"/>) or every rule (<see cref="DismissalPauseScope.User"/>).
/// </summary>
public sealed record DismissalPauseSpec(int After, TimeSpan For, DismissalPauseScope Scope = DismissalPauseScope.Rule);

/// <summary>
/// The dismissal pause (docs/rules.md, "Dismissal pause"): how its key is read, whether a rule is paused for a user now,
/// and what a dismissal adds to the user's counts. The state it keeps: per rule <see cref="UserState.Dismissals"/> and
/// <see cref="UserState.RulePausedUntil"/>; user-wide <see cref="UserState.UserDismissals"/> and <see cref="UserState.UserPausedUntil"/>.
/// </summary>
public static class DismissalPausePolicy
{
    /// <summary>The policy's key, in <c>policies</c> and in a rule's <c>policy</c>.</summary>
    public const string Key = "dismissalPause";

    /// <summary>Reads <c>{ after: 3, for: 7d, scope: user }</c>; a bad value is an error with its line, and no pause.</summary>
    internal static DismissalPauseSpec? Read(NodeReader r, YamlMappingNode? p)
    {
        if (p is null)
        {
            return null;
        }
        r.Known(p, "after", "for", "scope");
        var after = r.Int(p, "after");
        if (after is null or < 1)
        {
            r.Error(p, "a pause needs 'after' of 1 or more");
            return null;
        }
        var scope = DismissalPauseScope.Rule;
        switch (r.String(p, "scope"))
        {
            case null or "rule":
                break;
            case "user":
                scope = DismissalPauseScope.User;
                break;
            case var other:
                r.Error(r.Child(p, "scope")!, $"'scope' must be rule or user, not '{other}'");
                return null;
        }
        return new DismissalPauseSpec(after.Value, r.Duration(p, "for", required: true), scope);
    }

    /// <summary>Until when (Unix ms) the user's dismissals pause the rule, or null when they do not pause it at <paramref name="nowMs"/>.</summary>
    public static long? PausedUntil(UserState state, string ruleId, long nowMs)
    {
        // The later of the two, so a check, a cancellation and explain all name the same end of the pause.
        var until = Math.Max(state.UserPausedUntil, state.RulePausedUntil?.GetValueOrDefault(ruleId) ?? 0);
        return until > nowMs ? until : null;
    }

    /// <summary>
    /// A distinct intervention of <paramref name="ruleId"/> was dismissed (repeats are filtered before this): counts it for the
    /// rule or for the user, as the pause that applies to the rule says, and starts the pause when the count reaches
    /// <see cref="DismissalPauseSpec.After"/>. The count restarts then, so it is the dismissals since the last pause.
    /// </summary>
    public static void Dismissed(UserState state, DismissalPauseSpec? pause, string ruleId, long atMs)
    {
        if (pause is { Scope: DismissalPauseScope.User })
        {
            // One int and one time whatever the number of rules: the user-wide count cannot grow the state.
            state.UserDismissals++;
            if (state.UserDismissals >= pause.After)
            {
                state.UserPausedUntil = atMs + (long)pause.For.TotalMilliseconds;
                state.UserDismissals = 0;
            }
            return;
        }
        state.Dismissals ??= new Dictionary<string, int>(StringComparer.Ordinal);
        var count = state.Dismissals[ruleId] = state.Dismissals.GetValueOrDefault(ruleId) + 1;
        if (pause is not null && count >= pause.After)
        {
            (state.RulePausedUntil ??= new Dictionary<string, long>(StringComparer.Ordinal))[ruleId] = atMs + (long)pause.For.TotalMilliseconds;
            state.Dismissals.Remove(ruleId);
        }
    }
}
