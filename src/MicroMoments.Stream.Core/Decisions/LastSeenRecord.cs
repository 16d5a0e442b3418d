using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Keeps <see cref="UserState.LastSeen"/>, what <c>did</c> conditions read: the latest time of every event name the user
/// sends, and of every <c>did</c>-with-<c>where</c> of the rule set whose filter the event matches (each such
/// <see cref="DidCondition.RecordKey"/> is known when the rules load, so only those are kept). At most
/// <see cref="MaxEntries"/> keys per user; the least recently seen goes first.
/// </summary>
internal sealed class LastSeenRecord
{
    /// <summary>
    /// Keys kept per user: about 64 × 30 bytes. A user who sends more distinct event names than this forgets the ones
    /// not seen for longest (docs/rules.md, "Has (not) done").
    /// </summary>
    public const int MaxEntries = 64;

    private readonly Dictionary<string, DidCondition[]> _filtered;

    public LastSeenRecord(RuleSet rules) =>
        _filtered = rules.Rules.SelectMany(r => r.Conditions).Select(c => c.Did).OfType<DidCondition>()
            .Where(d => !d.Where.IsEmpty).DistinctBy(d => d.RecordKey)
            .GroupBy(d => d.Event, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

    /// <summary>Records <paramref name="e"/> at <paramref name="at"/> (Unix ms); returns how many old keys it evicted.</summary>
    public int Observe(UserState state, ClickEvent e, long at)
    {
        var evicted = Touch(state, e.Key, at);
        if (_filtered.TryGetValue(e.Key, out var dids))
        {
            foreach (var did in dids)
            {
                if (did.Where.Holds(e, state))
                {
                    evicted += Touch(state, did.RecordKey, at);
                }
            }
        }
        return evicted;
    }

    /// <summary>The later time wins, so an event that arrives out of order never moves a key back.</summary>
    private static int Touch(UserState state, string key, long at)
    {
        var seen = state.LastSeen ??= new OrderedDictionary<string, long>(StringComparer.Ordinal);
        return seen.TryGetValue(key, out var before) && before >= at ? 0 : StateBounds.Touch(seen, key, at, MaxEntries);
    }
}
