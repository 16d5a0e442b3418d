using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Redis;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// What Redis holds about a user in one shard: the state and the recent decisions (stored JSON, newest first). When the stored
/// state cannot be read, <see cref="Unreadable"/> says so and <see cref="State"/> is the fresh one the worker starts from.
/// </summary>
public sealed record UserRecord(string Shard, UserState State, IReadOnlyList<string> Decisions, StateUnreadable? Unreadable = null);

/// <summary>One stored decision line, read leniently: outcome and reason stay open strings, so new ones show as they are.</summary>
public sealed record DecisionLine(string At, string RuleId, string? RuleVersion, string Outcome, string? Reason, string? InterventionId,
    string? TriggerKind, IReadOnlyList<string> EventIds, string? Delivery = null)
{
    /// <summary>The trigger's details as text (a count's <c>count</c> and <c>window</c>, the event's properties), in stored order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Details { get; init; } = [];

    /// <summary>A <c>best_time</c> decision's choice, e.g. "best_time 20:00 local (history, 6 active hour-days)"; null for others.</summary>
    private static string? DeliveryText(JsonElement decision) =>
        decision.TryGetProperty("delivery", out var d) && d.ValueKind == JsonValueKind.Object
            && d.TryGetProperty("hour", out var hour) && hour.TryGetInt32(out var h)
            ? $"best_time {h:00}:00 local ({(d.TryGetProperty("basis", out var b) ? b.GetString() : "?")}, {(d.TryGetProperty("activeDays", out var a) && a.TryGetInt32(out var n) ? n : 0)} active hour-days)"
            : null;

    public static DecisionLine Parse(string json)
    {
        using var d = JsonDocument.Parse(json);
        var r = d.RootElement;
        static string? S(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string? kind = null;
        var ids = new List<string>();
        var details = new List<KeyValuePair<string, string>>();
        if (r.TryGetProperty("trigger", out var t) && t.ValueKind == JsonValueKind.Object)
        {
            kind = S(t, "kind");
            if (t.TryGetProperty("eventIds", out var e) && e.ValueKind == JsonValueKind.Array)
            {
                ids.AddRange(e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
            }
            if (t.TryGetProperty("details", out var ds) && ds.ValueKind == JsonValueKind.Object)
            {
                details.AddRange(ds.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText())));
            }
        }
        return new DecisionLine(S(r, "at") ?? "", S(r, "ruleId") ?? "", S(r, "ruleVersion"), S(r, "outcome") ?? "", S(r, "reason"),
            S(r, "interventionId"), kind, ids, DeliveryText(r)) { Details = details };
    }
}

/// <summary>Reads a user's states and recent decisions from every shard: the one reading behind <c>explain</c> and the console.</summary>
public static class UserLookup
{
    public static async Task<List<UserRecord>> ReadAsync(UserStateStore store, string userId, CancellationToken ct)
    {
        var found = await store.FindAllAsync(userId, ct);
        var decisions = await Task.WhenAll(found.Select(f => store.RecentDecisionsAsync(f.Shard, userId, ct)));
        return found.Select((f, i) => new UserRecord(f.Shard, f.State ?? new UserState { UserId = userId }, decisions[i], f.Unreadable)).ToList();
    }

    /// <summary>
    /// The pauses in force now: per rule after dismissals, and for all rules ("" as rule) after dismissals under a
    /// <c>scope: user</c> dismissal pause or after unanswered nudges.
    /// </summary>
    public static List<(string RuleId, string Reason, DateTimeOffset Until)> PausesInForce(UserState s, RuleSet rules, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var pauses = (s.RulePausedUntil ?? []).Where(p => p.Value > nowMs)
            .Select(p => (p.Key, Reasons.DismissalPause, DateTimeOffset.FromUnixTimeMilliseconds(p.Value))).ToList();
        if (s.UserPausedUntil > nowMs)
        {
            pauses.Add(("", Reasons.DismissalPause, DateTimeOffset.FromUnixTimeMilliseconds(s.UserPausedUntil)));
        }
        if (s.AutoPausedAt > 0 && (rules.Policy.AutoPause ?? rules.Rules.Select(r => r.Policy.AutoPause).FirstOrDefault(p => p is not null)) is { } auto
            && s.AutoPausedAt + (long)auto.For.TotalMilliseconds > nowMs)
        {
            pauses.Add(("", Reasons.AutoPause, DateTimeOffset.FromUnixTimeMilliseconds(s.AutoPausedAt + (long)auto.For.TotalMilliseconds)));
        }
        return pauses;
    }
}
