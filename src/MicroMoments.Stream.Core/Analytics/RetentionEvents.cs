using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Folds raw events (and, when given, the decisions made on them) into the retention counters the worker keeps live
/// (<see cref="RetentionCounting"/>), for <c>report --events</c>: each user's events in file order, as <c>simulate</c> and
/// the worker's partitions take them, through the same per-user steps on a state that holds what they read. Aliases are
/// not followed (each id is its own user), where the worker merges an anonymous user into the identified one.
/// </summary>
public sealed class RetentionEvents
{
    // simulate's limits: a file is history, so no timestamp is "in the future".
    private readonly ClickEventParser _parser = new(new ParserLimits { MaxFutureSkew = TimeSpan.MaxValue });
    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<Decision>> _decisions = new(StringComparer.Ordinal);
    private readonly Evaluation _counted = new();
    private DateTimeOffset _clock = DateTimeOffset.UnixEpoch;

    /// <summary>
    /// A fold that also counts the treated and control arms the decisions put users in: each user enters an arm at the first
    /// decision that names it, before their first event at or after its time (the worker decides on that event or earlier).
    /// </summary>
    public RetentionEvents(IEnumerable<Decision> decisions)
    {
        foreach (var g in decisions.Where(d => RetentionArms.Of(d) is not null).GroupBy(d => d.UserId, StringComparer.Ordinal))
        {
            _decisions[g.Key] = new Queue<Decision>(g.OrderBy(d => d.At)); // stable: a file's order among equal times
        }
    }

    /// <summary>Lines the worker would dead-letter: (line number, why), for the caller to report.</summary>
    public List<(long Line, string Error)> Rejected { get; } = [];

    /// <summary>Folds an NDJSON events file, line by line, as <c>simulate</c> splits and parses it.</summary>
    public void AddFile(ReadOnlyMemory<byte> file)
    {
        foreach (var line in NdjsonLines.Read(file))
        {
            // A line without a timestamp takes simulate's virtual clock: the latest time so far.
            var parsed = _parser.Parse(line.Bytes, null, new RecordSource("events", 0, line.Number, _clock), _clock);
            if (parsed.IsValid)
            {
                Add(parsed.Event!);
                _clock = parsed.Event!.Timestamp > _clock ? parsed.Event.Timestamp : _clock;
            }
            else
            {
                Rejected.Add((line.Number, $"{parsed.Reason}: {parsed.Error}"));
            }
        }
    }

    /// <summary>Folds one event of a user, after the user's earlier ones.</summary>
    public void Add(ClickEvent e)
    {
        ref var user = ref CollectionsMarshal.GetValueRefOrAddDefault(_users, e.UserId, out _);
        user ??= new UserState { UserId = e.UserId };
        var at = e.Timestamp.ToUnixTimeMilliseconds();
        EnterUntil(user, at);
        if (!RetentionCounting.IsActivity(e.Key))
        {
            return;
        }
        // What the worker's state holds when its step runs: the first sign-up in arrival order.
        if (e.Key == EventNames.SignedUp)
        {
            user.SignedUpAt ??= at;
        }
        RetentionCounting.Observe(user, e, _counted);
    }

    /// <summary>The counters so far, in the layout the worker keeps in Redis: rule id "" → "day|metric" → count.</summary>
    public Dictionary<string, Dictionary<string, long>> Counters()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        AddTo(counters);
        return counters;
    }

    /// <summary>Adds the counters so far to <paramref name="counters"/> (a decisions file's, say); decisions after the last event count too.</summary>
    public void AddTo(Dictionary<string, Dictionary<string, long>> counters)
    {
        foreach (var (userId, _) in _decisions)
        {
            ref var user = ref CollectionsMarshal.GetValueRefOrAddDefault(_users, userId, out _);
            EnterUntil(user ??= new UserState { UserId = userId }, long.MaxValue);
        }
        foreach (var s in _counted.Stats)
        {
            s.AddTo(counters);
        }
    }

    private void EnterUntil(UserState user, long at)
    {
        if (!_decisions.TryGetValue(user.UserId, out var pending))
        {
            return;
        }
        while (pending.TryPeek(out var d) && d.At.ToUnixTimeMilliseconds() <= at)
        {
            RetentionCounting.Enter(user, pending.Dequeue(), _counted);
        }
    }
}
