using System.Globalization;
using System.Numerics;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>What one event revealed beyond the state: values that only exist at that moment.</summary>
public readonly record struct Observation
{
    /// <summary>For a completed task with a duration: 1 − duration / the user's usual duration, or the population's on a first completion (0.4 = 40 % faster).</summary>
    public double? CompletionSpeedup { get; init; }

    /// <summary>When this event started a new session: 1 − last session / the user's baseline (0.17 = 17 % shorter).</summary>
    public double? SessionDrop { get; init; }

    /// <summary>Values of the event not kept (over a <see cref="StateLimits"/> bound, or an implausible duration); the rest of it applied.</summary>
    public int Ignored { get; init; }

    /// <summary>Least recently used traits, features or tasks evicted to make room.</summary>
    public int Evicted { get; init; }
}

/// <summary>
/// Derived per-user state, updated by every event (definitions in docs/rules.md, "Derived state"):
/// lifecycle stage, segment, archetype, engagement score, feature counts, streak, session baseline,
/// task-time baselines, onboarding progress and the intent of an event.
/// </summary>
public static class UserProfile
{
    public static readonly TimeSpan SessionGap = TimeSpan.FromMinutes(30);
    public const int EngagementWindowDays = 30;
    private const double Ewma = 0.3;
    private const double FastCompletion = 0.3;
    internal const int RecentIdCount = 8;
    private static readonly StateLimits DefaultLimits = new();

    /// <summary>True when the message id was seen recently (an upstream duplicate); otherwise remembers it.</summary>
    public static bool SeenBefore(UserState state, string messageId)
    {
        var hash = StableHash(messageId);
        state.RecentIds ??= [];
        if (state.RecentIds.Contains(hash))
        {
            return true;
        }
        state.RecentIds.Add(hash);
        if (state.RecentIds.Count > RecentIdCount)
        {
            state.RecentIds.RemoveAt(0);
        }
        return false;
    }

    /// <summary>
    /// Applies the event to the profile. <paramref name="eventTime"/>: the rules allow lateness (docs/rules.md, "Allowed
    /// lateness"), so an event from an earlier day than the latest active one still fills its day in the streak.
    /// </summary>
    public static Observation Observe(UserState state, ClickEvent e, PopulationBaseline? population = null, StateLimits? limits = null,
        bool eventTime = false)
    {
        limits ??= DefaultLimits;
        var ignored = 0;
        var evicted = 0;
        var ts = e.Timestamp.ToUnixTimeMilliseconds();
        // Assigned only when changed: the state is long-lived, and keeping its strings spares the GC old-to-young references.
        if (state.UserId != e.UserId)
        {
            state.UserId = e.UserId;
        }
        if (e.Device is not null && state.Device != e.Device)
        {
            state.Device = e.Device;
        }
        // Only a zone the database knows is kept: anything else would be UTC anyway, and must not grow the state.
        if (e.Timezone is not null && state.Timezone != e.Timezone && TimeZones.IsKnown(e.Timezone))
        {
            state.Timezone = e.Timezone;
        }
        Segments.SegmentFeatures.Observe(state, e, ts);
        var sessionDrop = ObserveSession(state, ts);
        if (state.FirstSeenAt == 0 || ts < state.FirstSeenAt)
        {
            state.FirstSeenAt = ts;
        }
        ActiveHours.Observe(state, e.Timestamp);
        state.LastEventAt = Math.Max(state.LastEventAt, ts);
        ObserveStreak(state, e, eventTime);
        if (e.Traits.Count > 0)
        {
            state.Traits ??= new OrderedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in e.Traits)
            {
                if (k.Length > limits.MaxStringLength || v.Length > limits.MaxStringLength)
                {
                    ignored++;
                    continue;
                }
                evicted += StateBounds.Touch(state.Traits, k, v, limits.MaxTraits);
            }
        }
        foreach (var (k, v) in e.Location)
        {
            evicted += SetAttribute(state, LocationKey(k), v, limits, ref ignored);
        }
        if (e.GroupId is not null)
        {
            evicted += SetAttribute(state, "group.id", e.GroupId, limits, ref ignored);
        }
        foreach (var (k, v) in e.GroupTraits)
        {
            evicted += SetAttribute(state, "group." + k, v, limits, ref ignored);
        }

        double? speedup = null;
        switch (e.Key)
        {
            case EventNames.SignedUp:
                state.SignedUpAt ??= ts;
                break;
            case EventNames.FeatureUsed when e.Property("feature") is { } feature:
                if (feature.Length > limits.MaxStringLength)
                {
                    ignored++; // still activity: it earns its points
                }
                else
                {
                    state.FeatureCounts ??= new OrderedDictionary<string, int>(StringComparer.Ordinal);
                    evicted += StateBounds.Touch(state.FeatureCounts, feature, state.FeatureCounts.GetValueOrDefault(feature) + 1, limits.MaxFeatures);
                    if (state.LastFeature != feature)
                    {
                        state.LastFeature = feature;
                    }
                }
                AddPoints(state, e.Timestamp, 15);
                break;
            case "email opened" or "email clicked":
                AddPoints(state, e.Timestamp, 20);
                break;
            case "task completed" when e.Property("task") is { } task && e.Property("durationMs") is { } duration:
                if (task.Length > limits.MaxStringLength || PlausibleDuration(duration, limits) is not { } ms)
                {
                    ignored++; // the completion is still activity and still triggers rules; only its time is not learnt from
                    break;
                }
                speedup = ObserveTaskTime(state, task, ms, population, limits, ref evicted);
                break;
            case "onboarding step completed" or "onboarding step skipped" or "onboarding step viewed":
                if (Number(e.Property("totalSteps")) is { } total)
                {
                    state.OnboardingTotal = (int)total;
                }
                if (e.Key == "onboarding step completed" && Number(e.Property("step")) is { } step)
                {
                    state.OnboardingStep = Math.Max(state.OnboardingStep, (int)step);
                }
                break;
            case "onboarding completed":
                state.OnboardingCompleted = true;
                state.OnboardingStep = Math.Max(state.OnboardingStep, state.OnboardingTotal);
                break;
        }
        return new Observation { CompletionSpeedup = speedup, SessionDrop = sessionDrop, Ignored = ignored, Evicted = evicted };
    }

    /// <summary>The state key of a <c>context.location</c> field (the parser keeps only these five): no string built per event.</summary>
    private static string LocationKey(string field) => field switch
    {
        "city" => "location.city",
        "country" => "location.country",
        "region" => "location.region",
        "latitude" => "location.latitude",
        "longitude" => "location.longitude",
        _ => "location." + field,
    };

    /// <summary>Sets one of <see cref="UserState.Attributes"/>, bounded like a trait; returns the entries evicted.</summary>
    private static int SetAttribute(UserState state, string key, string value, StateLimits limits, ref int ignored)
    {
        if (key.Length > limits.MaxStringLength || value.Length > limits.MaxStringLength)
        {
            ignored++;
            return 0;
        }
        if (state.Attributes?.GetValueOrDefault(key) == value)
        {
            return 0; // unchanged: most events repeat the location
        }
        state.Attributes ??= new OrderedDictionary<string, string>(StringComparer.Ordinal);
        return StateBounds.Touch(state.Attributes, key, value, limits.MaxTraits);
    }

    /// <summary>0–100: feature used +15, a session that lasted 30 s or more before the user left +10, email open or click +20, over 30 days.</summary>
    public static int EngagementScore(UserState state, DateTimeOffset now)
    {
        if (state.EngagementPoints is null)
        {
            return 0;
        }
        var today = Day(now);
        var sum = 0;
        foreach (var (day, points) in state.EngagementPoints)
        {
            if (day > today - EngagementWindowDays && day <= today)
            {
                sum += points;
            }
        }
        return Math.Min(100, sum);
    }

    /// <summary>Consecutive active days (user's time zone) ending today or yesterday; 0 when broken.</summary>
    public static int Streak(UserState state, DateTimeOffset now) =>
        TimeZones.LocalDay(now, state.Timezone) - state.LastActiveDay <= 1 ? state.StreakDays : 0;

    /// <summary>explorer (first 24 h after sign-up), tester (24–72 h), adopter (later, and active), lapsed (idle 7 days).</summary>
    public static string LifecycleStage(UserState state, DateTimeOffset now)
    {
        if (IsLapsed(state, now))
        {
            return "lapsed";
        }
        var age = Age(state, now);
        return age < TimeSpan.FromHours(24) ? "explorer" : age < TimeSpan.FromHours(72) ? "tester" : "adopter";
    }

    /// <summary>The first days after sign-up (or the first event), whatever archetype the user reaches meanwhile.</summary>
    public static readonly TimeSpan NewcomerPeriod = TimeSpan.FromDays(7);

    /// <summary>
    /// Follows the lifecycle, not the archetype: a newcomer who uses five features turns explorer within the hour,
    /// and is still the one that progressive disclosure protects.
    /// </summary>
    public static bool IsNewcomer(UserState state, DateTimeOffset now) => Age(state, now) < NewcomerPeriod;

    /// <summary>new (first 7 days), lapsed (idle 7 days), active_engager (engagement score 40+), else active.</summary>
    public static string Segment(UserState state, DateTimeOffset now) =>
        IsLapsed(state, now) ? "lapsed"
        : Age(state, now) < TimeSpan.FromDays(7) ? "new"
        : EngagementScore(state, now) >= 40 ? "active_engager"
        : "active";

    /// <summary>efficiency_seeker (two or more task completions 30 %+ faster than the population's usual time for that task), explorer (five or more distinct features), newcomer (first 7 days), else regular.</summary>
    public static string Archetype(UserState state, DateTimeOffset now) =>
        state.FastCompletions >= 2 ? "efficiency_seeker"
        : state.FeatureCounts is { Count: >= 5 } ? "explorer"
        : Age(state, now) < TimeSpan.FromDays(7) ? "newcomer"
        : "regular";

    /// <summary>Seed 004's micro-moment intent of an event; see <see cref="IntentOf(string, bool)"/>.</summary>
    public static string Intent(ClickEvent e) => IntentOf(e.Key, e.IsView);

    /// <summary>
    /// go (page and screen views, store, location, directions), know (help, search, email, article, a failed task),
    /// buy (product, cart, order, checkout, payment, coupon, promotion), else do (onboarding, setup, features, forms...).
    /// </summary>
    public static string IntentOf(string key, bool isView) =>
        isView || StartsWithAny(key, "store", "location", "directions") ? "go"
        : StartsWithAny(key, "help", "search", "email", "article", "task failed") ? "know"
        : StartsWithAny(key, "product", "order", "cart", "checkout", "payment", "coupon", "promotion") ? "buy"
        : "do";

    private static bool StartsWithAny(string key, params ReadOnlySpan<string> prefixes)
    {
        foreach (var p in prefixes)
        {
            if (key.StartsWith(p, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The feature the user used most (<c>state.topFeature</c>), of those the state keeps; on a tie, the one used more
    /// recently. Null for a user who used none. What a lapsed user is invited back to.
    /// </summary>
    public static string? TopFeature(UserState state)
    {
        string? top = null;
        var most = 0;
        // Oldest first (the map keeps recency order): ">=" lets the more recent of a tie win.
        foreach (var (feature, uses) in state.FeatureCounts ?? [])
        {
            if (uses >= most)
            {
                (top, most) = (feature, uses);
            }
        }
        return top;
    }

    /// <summary>The first feature of <paramref name="catalogue"/> the user has never used.</summary>
    public static string? UnusedFeature(UserState state, IReadOnlyList<string> catalogue) =>
        catalogue.FirstOrDefault(f => state.FeatureCounts?.ContainsKey(f) != true);

    /// <summary>
    /// A <c>durationMs</c> worth learning from: finite, at least 1 ms and at most <see cref="StateLimits.MaxTaskDuration"/>.
    /// <c>1e400</c> parses as infinity and would poison every average it enters; below 1 ms the stored whole
    /// milliseconds would be 0, which once read as "never completed" and let one user vote on every completion.
    /// </summary>
    public static double? PlausibleDuration(string? text, StateLimits limits) =>
        Number(text) is { } ms && double.IsFinite(ms) && ms >= 1 && ms <= limits.MaxTaskDuration.TotalMilliseconds ? ms : null;

    public static double? Number(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static bool IsLapsed(UserState state, DateTimeOffset now) =>
        state.LastEventAt > 0 && now.ToUnixTimeMilliseconds() - state.LastEventAt > (long)TimeSpan.FromDays(7).TotalMilliseconds;

    private static TimeSpan Age(UserState state, DateTimeOffset now) =>
        TimeSpan.FromMilliseconds(now.ToUnixTimeMilliseconds() - (state.SignedUpAt ?? state.FirstSeenAt));

    private static int Day(DateTimeOffset t) => (int)(t.ToUnixTimeSeconds() / 86400);

    private static void AddPoints(UserState state, DateTimeOffset at, int points)
    {
        var day = Day(at);
        state.EngagementPoints ??= [];
        state.EngagementPoints[day] = state.EngagementPoints.GetValueOrDefault(day) + points;
        foreach (var old in state.EngagementPoints.Keys)
        {
            if (old <= day - EngagementWindowDays)
            {
                state.EngagementPoints.Remove(old); // removing while enumerating a Dictionary is allowed
            }
        }
    }

    /// <summary>A gap of more than 30 minutes ends the session; returns the drop against the baseline when one ended.</summary>
    private static double? ObserveSession(UserState state, long ts)
    {
        if (state.LastEventAt == 0)
        {
            state.SessionStartedAt = ts;
            return null;
        }
        if (ts - state.LastEventAt <= SessionGap.TotalMilliseconds)
        {
            return null;
        }
        var length = state.LastEventAt - state.SessionStartedAt;
        state.SessionStartedAt = ts;
        state.LastSessionMs = length;
        if (length >= 30_000)
        {
            AddPoints(state, DateTimeOffset.FromUnixTimeMilliseconds(state.LastEventAt), 10);
        }
        var baseline = state.SessionBaselineMs;
        state.SessionBaselineMs = baseline == 0 ? length : (long)((1 - Ewma) * baseline + Ewma * length);
        return baseline > 0 ? Math.Round(1 - (double)length / baseline, 3) : null;
    }

    /// <summary>
    /// Returns the speed-up against the user's own usual time for the task, or on a first completion the population's
    /// (the <c>completionSpeedup</c> metric);
    /// a completion 30 %+ faster than the population's usual time counts towards the efficiency-seeker archetype.
    /// </summary>
    private static double? ObserveTaskTime(UserState state, string task, double ms, PopulationBaseline? population, StateLimits limits, ref int evicted)
    {
        // Read before this completion votes: the user is measured against everyone else.
        var populationUsual = population?.UsualMs(task);
        if (populationUsual is { } p && 1 - ms / p >= FastCompletion)
        {
            state.FastCompletions++;
        }
        state.TaskDurations ??= new OrderedDictionary<string, long>(StringComparer.Ordinal);
        var seen = state.TaskDurations.TryGetValue(task, out var usual);
        if (!seen)
        {
            // One vote per user and task (the first completion): however often one user completes it, they stay one voice.
            population?.Observe(task, ms);
        }
        var next = seen ? (long)((1 - Ewma) * usual + Ewma * ms) : (long)ms;
        evicted += StateBounds.Touch(state.TaskDurations, task, Math.Max(1, next), limits.MaxTasks);
        // A first completion has no usual time of the user's own yet: the population's stands in for it.
        var baseline = seen && usual > 0 ? usual : populationUsual;
        return baseline is { } b and > 0 ? Math.Round(1 - ms / b, 3) : null;
    }

    /// <summary>
    /// Active days are a set (<see cref="EventTimeState.ActiveDays"/>, the last 32 local days) and the streak is the run of
    /// days ending at the latest one. So an event from an earlier day that arrives after a later day's fills its day, and
    /// the streak is what timestamp order gives (in arrival order, <paramref name="fillEarlier"/> false, it changes nothing).
    /// </summary>
    private static void ObserveStreak(UserState state, ClickEvent e, bool fillEarlier)
    {
        var day = TimeZones.LocalDay(e.Timestamp, state.Timezone);
        var last = state.LastActiveDay;
        if (day == last || (day < last && (!fillEarlier || last - day >= 32)))
        {
            return; // a late event from a day the set no longer holds does not rewrite the streak
        }
        // 0 (a state from before the set, or a set that is just the current run): the streak stands for the days it covers.
        var days = state.EventTime?.ActiveDays ?? 0;
        if (days == 0 && last != 0)
        {
            days = RunOnly(Math.Max(1, state.StreakDays));
        }
        if (day < last)
        {
            days |= 1u << (last - day);
            var run = BitOperations.TrailingZeroCount(~days);
            state.StreakDays = run >= 32 ? Math.Max(state.StreakDays, 32) : run;
        }
        else
        {
            days = day - last >= 32 ? 1u : (days << (day - last)) | 1u;
            state.StreakDays = day == last + 1 ? state.StreakDays + 1 : 1;
            state.LastActiveDay = day;
        }
        // Kept only when it says more than the streak: most users' days are one run, and cost nothing.
        var stored = days == RunOnly(state.StreakDays) ? 0 : days;
        if (stored != 0 && (fillEarlier || state.EventTime is not null))
        {
            (state.EventTime ??= new EventTimeState()).ActiveDays = stored;
        }
        else if (state.EventTime is { } et)
        {
            et.ActiveDays = 0;
            state.EventTime = et.IsEmpty ? null : et;
        }
    }

    /// <summary>The day set of a streak of <paramref name="streak"/> days and no earlier activity.</summary>
    private static uint RunOnly(int streak) => streak >= 32 ? uint.MaxValue : (1u << streak) - 1;

    private static int StableHash(string s)
    {
        // FNV-1a: stable across processes (string.GetHashCode is randomised per process).
        var h = 2166136261u;
        foreach (var c in s)
        {
            h = (h ^ c) * 16777619u;
        }
        return (int)h;
    }
}
