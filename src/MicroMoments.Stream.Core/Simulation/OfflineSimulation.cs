using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Simulation;

/// <summary>
/// The worker's logic offline: events in file order on a virtual clock that follows their timestamps,
/// timers fired as the clock passes them, in due order. Deterministic: the same input gives the same output.
/// </summary>
public sealed class OfflineSimulation
{
    private readonly RuleEngine _engine;
    private readonly ClickEventParser _parser = new(new ParserLimits { MaxFutureSkew = TimeSpan.MaxValue });
    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, (long Due, string User)> _timers = new(Comparer<(long Due, string User)>.Create(
        (a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : string.CompareOrdinal(a.User, b.User)));

    public OfflineSimulation(RuleSet rules) =>
        _engine = new RuleEngine(rules, new EngineOptions { CheckStaleness = false });

    /// <summary>The virtual clock: the latest event or timer time seen.</summary>
    public DateTimeOffset Clock { get; private set; } = DateTimeOffset.UnixEpoch;

    public IReadOnlyDictionary<string, UserState> Users => _users;

    public List<InterventionCommand> Interventions { get; } = [];

    public List<Decision> Decisions { get; } = [];

    /// <summary>Analytics counters as the worker keeps them in Redis: rule id ("" = cohorts) → "variant|metric" → count.</summary>
    public Dictionary<string, Dictionary<string, long>> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>Feeds one NDJSON line; returns the reject reason and message for a line the worker would dead-letter.</summary>
    public ParseResult Feed(string line, long lineNumber, string source = "events")
    {
        var record = new RecordSource(source, 0, lineNumber, Clock);
        var parsed = _parser.Parse(Encoding.UTF8.GetBytes(line), null, record, Clock);
        if (!parsed.IsValid)
        {
            return parsed;
        }
        var e = parsed.Event!;
        AdvanceTo(e.Timestamp);
        if (!_users.TryGetValue(e.UserId, out var state))
        {
            _users[e.UserId] = state = new UserState { UserId = e.UserId };
        }
        Collect(_engine.Apply(state, e, record, Clock));
        Schedule(state);
        return parsed;
    }

    /// <summary>Moves the clock forward to <paramref name="until"/>, firing every timer due on the way.</summary>
    public void AdvanceTo(DateTimeOffset until)
    {
        while (_timers.TryPeek(out var userId, out var entry) && entry.Due <= until.ToUnixTimeMilliseconds())
        {
            _timers.Dequeue();
            var state = _users[userId];
            if (state.NextDueAt != entry.Due)
            {
                continue; // superseded: the user's timers changed after this entry was queued
            }
            var due = DateTimeOffset.FromUnixTimeMilliseconds(entry.Due);
            if (due > Clock)
            {
                Clock = due;
            }
            Collect(_engine.FireDue(state, Clock));
            Schedule(state);
        }
        if (until > Clock)
        {
            Clock = until;
        }
    }

    private void Schedule(UserState state)
    {
        if (state.NextDueAt is { } due)
        {
            _timers.Enqueue(state.UserId, (due, state.UserId));
        }
    }

    private void Collect(Evaluation evaluation)
    {
        Interventions.AddRange(evaluation.Interventions);
        Decisions.AddRange(evaluation.Decisions);
        foreach (var stat in evaluation.Stats)
        {
            stat.AddTo(Counters);
        }
    }
}
