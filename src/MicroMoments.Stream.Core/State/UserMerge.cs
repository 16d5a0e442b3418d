using MicroMoments.Stream.Core.State.Sections;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Merges an anonymous user's state into the identified user's when an <c>alias</c> arrives, so rules see one
/// history: counts and windows add up, the earlier sign-up and first visit count, pending timers move over, and what
/// the identified user already has wins on conflicts. The anonymous state becomes a tombstone that names the
/// identified user: its timers are gone (they now run for the identified user), and its watermarks and recent ids
/// stay, so a redelivered anonymous record is still recognised. Each section merges its own fields
/// (<see cref="StateSection.Merge"/>); this type refuses, runs them and makes the tombstone.
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
        into.LastEventAt = Math.Max(into.LastEventAt, from.LastEventAt); // the header's one field to merge
        foreach (var section in StateSections.All)
        {
            section.Merge(into, from, limits);
        }
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

    /// <summary><paramref name="newer"/> with the entries of <paramref name="older"/> it lacks, put first (least recent), up to <paramref name="max"/>.</summary>
    internal static OrderedDictionary<string, T>? Older<T>(OrderedDictionary<string, T>? older, OrderedDictionary<string, T>? newer, int max)
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
public readonly record struct AliasMerge(UserState? Tombstone, string Outcome, Decisions.Evaluation? FollowUps = null);
