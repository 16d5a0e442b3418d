namespace MicroMoments.Stream.Core.State;

/// <summary>
/// What a read state must hold before the rules see it. The binary reader builds whole objects, but JSON (what earlier
/// versions stored, or what someone typed into Redis) may leave out or null any field: <c>{"u":"x","wm":null}</c> is valid
/// JSON and would fail later, deep in a batch, as a <see cref="NullReferenceException"/>.
/// </summary>
public static class UserStateCheck
{
    /// <summary>Why <paramref name="s"/> cannot be used as <paramref name="userId"/>'s state, or null when it can.</summary>
    public static string? Problem(UserState s, string userId)
    {
        if (s.UserId != userId)
        {
            return s.UserId is null or "" ? "the state names no user" : $"the state names another user ({Cut(s.UserId)})";
        }
        if (s.Watermarks is null)
        {
            return "the state has no watermarks";
        }
        if (s.ActiveHours is { Length: not 24 })
        {
            return $"active hours hold {s.ActiveHours.Length} hours, not 24";
        }
        return Times(s) ?? Days(s)
            ?? NullIn(s.Traits, "traits") ?? NullIn(s.Attributes, "attributes")
            ?? Find(s.Interventions, "interventions", i => i.Id is null || i.RuleId is null)
            ?? Find(s.Windows?.Values, "windows", hits => hits is null || hits.Exists(h => h is null || h.EventId is null))
            ?? Find(s.Timers, "timers", t => t.Id is null || t.ArmedBy is null || (t.Details?.ContainsValue(null!) ?? false))
            ?? Find(s.Sent, "sent interventions", x => x.RuleId is null || x.Channel is null || x.Category is null)
            ?? Find(s.PendingDeliveries, "pending deliveries", p => p.InterventionId is null || p.RuleId is null || p.Channel is null)
            ?? Find(s.Waiting, "waiting deliveries", w => w.InterventionId is null || w.RuleId is null || w.Channel is null || w.Blocked is null
                || w.TriggerKind is null || w.EventIds is null || w.EventIds.Contains(null!) || w.Title is null || w.Body is null || w.Intent is null
                || (w.Details?.ContainsValue(null!) ?? false))
            ?? Find(s.UnservedCrossings, "unserved crossings", static _ => false)
            ?? Find(s.EventTime?.FiredGroups, "fired count groups", g => g.Window is null || g.Hits is not { Count: > 0 } || g.Hits.Exists(h => h is null || h.EventId is null));
    }

    // Every time the state holds is one the parser could have accepted (event times from 1900 to 9000; due times a rule's
    // longest delay beyond): a value far outside makes DateTimeOffset throw deep in a rule (found by the state fuzz target).
    private static readonly long MinTime = Events.ClickEventParser.MinTimestamp.ToUnixTimeMilliseconds();
    private static readonly long MaxTime = Events.ClickEventParser.MaxTimestamp.AddYears(100).ToUnixTimeMilliseconds();
    private const long MaxDuration = 100L * 366 * 86_400_000;

    private static bool IsTime(long ms) => ms == 0 || (ms >= MinTime && ms <= MaxTime);

    private static bool IsMinute(long? minute) => minute is null || (minute >= MinTime / 60_000 && minute <= MaxTime / 60_000);

    private static bool IsDuration(long ms) => ms >= -MaxDuration && ms <= MaxDuration;

    private static string? Times(UserState s)
    {
        bool ok = IsTime(s.LastEventAt) && IsTime(s.FirstSeenAt) && IsTime(s.SignedUpAt ?? 0) && IsTime(s.SessionStartedAt)
            && IsTime(s.AutoPausedAt) && IsTime(s.UserPausedUntil) && IsTime(s.IndexedDueAt ?? 0) && IsDuration(s.LastSessionMs) && IsDuration(s.SessionBaselineMs)
            && (s.TaskDurations?.Values.All(IsDuration) ?? true)
            && (s.RulePausedUntil?.Values.All(IsTime) ?? true)
            && (s.Interventions?.TrueForAll(i => i is null || (IsTime(i.At) && IsTime(i.ConvertUntil ?? 0))) ?? true)
            && (s.Windows?.Values.All(w => w is null || w.TrueForAll(h => h is null || IsTime(h.At))) ?? true)
            && (s.Timers?.TrueForAll(t => t is null || IsTime(t.DueAt)) ?? true)
            && (s.Sent?.TrueForAll(x => x is null || IsTime(x.At)) ?? true)
            && (s.PendingDeliveries?.TrueForAll(p => p is null || IsTime(p.DeliverAfter)) ?? true)
            && (s.Waiting?.TrueForAll(w => w is null || (IsTime(w.Slot) && IsTime(w.ExpiresAt) && IsTime(w.TriggerAt) && IsMinute(w.Reserved))) ?? true)
            && (s.EventTime?.MissingSeen?.Values.All(IsTime) ?? true)
            && (s.EventTime?.FiredGroups?.TrueForAll(g => g is null || g.Hits is null || g.Hits.TrueForAll(h => h is null || IsTime(h.At))) ?? true);
        return ok ? null : "the state holds a time outside 1900 to 9100";
    }

    private static readonly int MinDay = (int)(MinTime / 86_400_000) - 1, MaxDay = (int)(MaxTime / 86_400_000) + 1;

    private static bool IsDay(int day) => day == 0 || (day >= MinDay && day <= MaxDay);

    private static string? Days(UserState s) =>
        IsDay(s.LastActiveDay) && IsDay(s.Behaviour?.LastDay ?? 0) && (s.EngagementPoints?.Keys.All(IsDay) ?? true) && s.ActiveHoursPeriod >= MinDay / 15 - 1 && s.ActiveHoursPeriod <= MaxDay / 15 + 1
            ? null : "the state holds a day outside 1900 to 9100";

    private static string? NullIn(OrderedDictionary<string, string>? map, string what) =>
        map is not null && map.ContainsValue(null!) ? $"{what} hold a null value" : null;

    private static string? Find<T>(IEnumerable<T?>? items, string what, Func<T, bool> incomplete) where T : class
    {
        foreach (var item in items ?? [])
        {
            if (item is null || incomplete(item))
            {
                return $"{what} hold an incomplete entry";
            }
        }
        return null;
    }

    private static string Cut(string s) => s.Length > 64 ? s[..64] + "…" : s;
}
