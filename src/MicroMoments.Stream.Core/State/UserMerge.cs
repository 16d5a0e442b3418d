using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Merges an anonymous user's state into the identified user's when an <c>alias</c> arrives, so rules see one
/// history: counts and windows add up, the earlier sign-up and first visit count, pending timers move over, and what
/// the identified user already has wins on conflicts. The anonymous state becomes a tombstone that names the
/// identified user: its timers are gone (they now run for the identified user), and its watermarks and recent ids
/// stay, so a redelivered anonymous record is still recognised.
/// </summary>
public static class UserMerge
{
    /// <summary>Outcomes of an alias (the worker's metric tag): merged, or nothing merged and why.</summary>
    public const string Merged = "merged", Identified = "identified", AlreadyMerged = "already_merged";

    /// <summary>The outcome of an alias whose previous id has no state: nothing to merge, counted like the refusals.</summary>
    public const string NotFound = "not_found";

    /// <summary>
    /// Why an alias must not merge <paramref name="from"/>, or null when it may. Segment's alias links a device's
    /// anonymousId to the user who signs up on it: a state ever seen under a userId is someone's identity, and an alias
    /// naming it as previousId (a mistake, or anyone's event) must not take its history; a tombstone was merged already.
    /// </summary>
    public static string? Refusal(UserState from) =>
        from.MergedInto is not null ? AlreadyMerged : !from.Anonymous ? Identified : null;

    /// <summary>Moves <paramref name="from"/>'s history into <paramref name="into"/> and returns the tombstone that replaces <paramref name="from"/>.</summary>
    public static UserState Merge(UserState into, UserState from, StateLimits? limits = null)
    {
        limits ??= new StateLimits();
        if (ReferenceEquals(into, from) || from.UserId == into.UserId)
        {
            return from;
        }
        into.FirstSeenAt = Earliest(into.FirstSeenAt, from.FirstSeenAt);
        into.SignedUpAt = into.SignedUpAt is { } a && from.SignedUpAt is { } b ? Math.Min(a, b) : into.SignedUpAt ?? from.SignedUpAt;
        into.LastEventAt = Math.Max(into.LastEventAt, from.LastEventAt);
        into.Device ??= from.Device;
        into.Timezone ??= from.Timezone;
        into.Traits = Older(from.Traits, into.Traits, limits.MaxTraits);
        into.Attributes = Older(from.Attributes, into.Attributes, limits.MaxTraits);
        if (from.FeatureCounts is { } features)
        {
            into.FeatureCounts ??= new OrderedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (k, v) in features)
            {
                var i = into.FeatureCounts.IndexOf(k);
                if (i >= 0)
                {
                    into.FeatureCounts.SetAt(i, into.FeatureCounts.GetAt(i).Value + v);
                }
                else if (into.FeatureCounts.Count < limits.MaxFeatures)
                {
                    into.FeatureCounts.Insert(0, k, v); // older than anything the identified user touched
                }
            }
        }
        into.LastFeature ??= from.LastFeature;
        if (from.EngagementPoints is { } points)
        {
            into.EngagementPoints ??= [];
            foreach (var (day, p) in points)
            {
                into.EngagementPoints[day] = into.EngagementPoints.GetValueOrDefault(day) + p;
            }
        }
        Decisions.ActiveHours.Merge(into, from);
        if (from.LastActiveDay > into.LastActiveDay || (from.LastActiveDay == into.LastActiveDay && from.StreakDays > into.StreakDays))
        {
            (into.LastActiveDay, into.StreakDays) = (from.LastActiveDay, from.StreakDays);
            if (into.EventTime is { } et)
            {
                et.ActiveDays = from.EventTime?.ActiveDays ?? 0; // the day set goes with the streak it ends in (0: the streak stands for it)
            }
        }
        if (into.SessionBaselineMs == 0)
        {
            (into.SessionBaselineMs, into.LastSessionMs) = (from.SessionBaselineMs, from.LastSessionMs);
        }
        if (into.SessionStartedAt == 0 || (from.SessionStartedAt != 0 && from.SessionStartedAt < into.SessionStartedAt
            && into.SessionStartedAt - from.LastEventAt < (long)Decisions.UserProfile.SessionGap.TotalMilliseconds))
        {
            into.SessionStartedAt = from.SessionStartedAt; // the anonymous visit and the sign-up were one session
        }
        into.TaskDurations = Older(from.TaskDurations, into.TaskDurations, limits.MaxTasks);
        into.FastCompletions += from.FastCompletions;
        into.OnboardingStep = Math.Max(into.OnboardingStep, from.OnboardingStep);
        into.OnboardingTotal = Math.Max(into.OnboardingTotal, from.OnboardingTotal);
        into.OnboardingCompleted |= from.OnboardingCompleted;
        if (from.Interventions is { } records)
        {
            into.Interventions = [.. records.Concat(into.Interventions ?? []).OrderBy(r => r.At).TakeLast(RuleEngine.RememberedInterventions)];
        }
        foreach (var (rule, n) in from.Dismissals ?? [])
        {
            (into.Dismissals ??= new Dictionary<string, int>(StringComparer.Ordinal))[rule] = into.Dismissals.GetValueOrDefault(rule) + n;
        }
        foreach (var (rule, until) in from.RulePausedUntil ?? [])
        {
            (into.RulePausedUntil ??= new Dictionary<string, long>(StringComparer.Ordinal))[rule] = Math.Max(into.RulePausedUntil.GetValueOrDefault(rule), until);
        }
        into.AutoPausedAt = Math.Max(into.AutoPausedAt, from.AutoPausedAt);
        into.UserDismissals += from.UserDismissals;
        into.UserPausedUntil = Math.Max(into.UserPausedUntil, from.UserPausedUntil);
        into.RetainedWeek1 |= from.RetainedWeek1;
        if (from.RecentIds is { } ids)
        {
            into.RecentIds = [.. ids.Concat(into.RecentIds ?? []).Distinct().TakeLast(UserProfile.RecentIdCount)];
        }
        foreach (var (key, hits) in from.Windows ?? [])
        {
            into.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
            into.Windows[key] = [.. (hits ?? []).Concat(into.Windows.GetValueOrDefault(key) ?? []).OrderBy(h => h.At)];
        }
        foreach (var timer in from.Timers ?? [])
        {
            // The identified user's own timer of the same id is the newer one (the idle timer, a re-armed dwell).
            if (into.Timers?.Exists(t => t.Id == timer.Id) != true)
            {
                (into.Timers ??= []).Add(timer);
                into.ReindexTimers = true;
            }
        }
        if (from.Sent is { } sent)
        {
            into.Sent = [.. sent.Concat(into.Sent ?? []).OrderBy(x => x.At)];
        }
        foreach (var p in from.PendingDeliveries ?? [])
        {
            // Still cancellable by the merged user's events, but keyed and addressed as the command was: to the anonymous id.
            p.UserId ??= from.UserId;
            (into.PendingDeliveries ??= []).Add(p);
        }
        if (into.PendingDeliveries is { } pending)
        {
            DeliveryCancellation.KeepBound(pending);
        }
        DeliverySchedule.Merge(into, from);
        return new UserState
        {
            UserId = from.UserId,
            Watermarks = from.Watermarks,
            RecentIds = from.RecentIds,
            LastEventAt = from.LastEventAt,
            FirstSeenAt = from.FirstSeenAt,
            MergedInto = into.UserId,
            IndexedDueAt = from.IndexedDueAt,
            ReindexTimers = true, // its timers moved: its timer-index entry goes
        };
    }

    private static long Earliest(long a, long b) => a == 0 ? b : b == 0 ? a : Math.Min(a, b);

    /// <summary><paramref name="newer"/> with the entries of <paramref name="older"/> it lacks, put first (least recent), up to <paramref name="max"/>.</summary>
    private static OrderedDictionary<string, T>? Older<T>(OrderedDictionary<string, T>? older, OrderedDictionary<string, T>? newer, int max)
    {
        if (older is null)
        {
            return newer;
        }
        newer ??= new OrderedDictionary<string, T>(StringComparer.Ordinal);
        var at = 0;
        foreach (var (k, v) in older)
        {
            if (newer.Count >= max)
            {
                break;
            }
            if (!newer.ContainsKey(k))
            {
                newer.Insert(at++, k, v);
            }
        }
        return newer;
    }
}

/// <summary>What an alias did: the tombstone that replaces the previous id's state, or null when <see cref="Outcome"/> says why nothing merged.</summary>
public readonly record struct AliasMerge(UserState? Tombstone, string Outcome);
