using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Derived facts about a user: what every event updates, and the stage and archetype stamped on commands.</summary>
public static class UserProfile
{
    private static readonly TimeSpan LapsedAfter = TimeSpan.FromDays(7);

    public static void Observe(UserState state, ClickEvent e)
    {
        var ts = e.Timestamp.ToUnixTimeMilliseconds();
        state.UserId = e.UserId;
        if (state.FirstSeenAt == 0 || ts < state.FirstSeenAt)
        {
            state.FirstSeenAt = ts;
        }
        state.LastEventAt = Math.Max(state.LastEventAt, ts);
        if (e.Key == EventNames.SignedUp)
        {
            state.SignedUpAt ??= ts;
        }
        if (e.Device is not null)
        {
            state.Device = e.Device;
        }
        if (e.Timezone is not null)
        {
            state.Timezone = e.Timezone;
        }
        if (e.Traits.Count > 0)
        {
            state.Traits ??= new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in e.Traits)
            {
                state.Traits[k] = v;
            }
        }
        if (e.Key == EventNames.FeatureUsed && e.Property("feature") is { } feature)
        {
            state.FeatureCounts ??= new Dictionary<string, int>(StringComparer.Ordinal);
            state.FeatureCounts[feature] = state.FeatureCounts.GetValueOrDefault(feature) + 1;
            state.LastFeature = feature;
        }
    }

    /// <summary>explorer (first 24 h after sign-up), tester (24–72 h), adopter (later, and active), lapsed (idle 7 days).</summary>
    public static string LifecycleStage(UserState state, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        if (state.LastEventAt > 0 && nowMs - state.LastEventAt > (long)LapsedAfter.TotalMilliseconds)
        {
            return "lapsed";
        }
        var age = TimeSpan.FromMilliseconds(nowMs - (state.SignedUpAt ?? state.FirstSeenAt));
        return age < TimeSpan.FromHours(24) ? "explorer" : age < TimeSpan.FromHours(72) ? "tester" : "adopter";
    }

    /// <summary>explorer (five or more distinct features), newcomer (first week), else regular.</summary>
    public static string Archetype(UserState state, DateTimeOffset now)
    {
        if (state.FeatureCounts is { Count: >= 5 })
        {
            return "explorer";
        }
        var age = TimeSpan.FromMilliseconds(now.ToUnixTimeMilliseconds() - (state.SignedUpAt ?? state.FirstSeenAt));
        return age < TimeSpan.FromDays(7) ? "newcomer" : "regular";
    }
}
