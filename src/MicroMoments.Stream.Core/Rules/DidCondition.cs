using MicroMoments.Stream.Core.Rules.Where;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>
/// <c>{ did: { event, where?, within? } }</c> in <c>when</c>: the user did <see cref="Event"/> (matching <see cref="Where"/>)
/// within <see cref="Within"/> before the evaluation time, or ever without it. Read from <see cref="UserState.LastSeen"/>.
/// </summary>
public sealed class DidCondition
{
    public DidCondition(string eventKey, WhereFilter where, TimeSpan? within)
    {
        Event = eventKey;
        Where = where;
        Within = within;
        RecordKey = where.IsEmpty ? eventKey : $"{eventKey} | where {where.Canonical}";
    }

    /// <summary>The event's normalised name (<see cref="Events.EventNames.Normalize"/>).</summary>
    public string Event { get; }

    public WhereFilter Where { get; }

    /// <summary>How far back the event counts; null: ever (as far as the record reaches).</summary>
    public TimeSpan? Within { get; }

    /// <summary>The key the user's last-seen record keeps this event (and filter) under.</summary>
    public string RecordKey { get; }

    /// <summary>
    /// Whether the user did it at most <see cref="Within"/> before <paramref name="now"/>. The record keeps the latest time
    /// only, so an occurrence stamped after <paramref name="now"/> (events out of order) counts as done too.
    /// </summary>
    public bool Holds(UserState state, DateTimeOffset now) =>
        state.LastSeen is { } seen && seen.TryGetValue(RecordKey, out var at)
        && (Within is not { } within || at >= now.ToUnixTimeMilliseconds() - (long)within.TotalMilliseconds);
}
