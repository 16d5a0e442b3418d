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
        return NullIn(s.Traits, "traits") ?? NullIn(s.Attributes, "attributes")
            ?? Find(s.Interventions, "interventions", i => i.Id is null || i.RuleId is null)
            ?? Find(s.Windows?.Values, "windows", hits => hits is null || hits.Exists(h => h is null || h.EventId is null))
            ?? Find(s.Timers, "timers", t => t.Id is null || t.ArmedBy is null || (t.Details?.ContainsValue(null!) ?? false))
            ?? Find(s.Sent, "sent interventions", x => x.RuleId is null || x.Channel is null || x.Category is null)
            ?? Find(s.PendingDeliveries, "pending deliveries", p => p.InterventionId is null || p.RuleId is null || p.Channel is null);
    }

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
