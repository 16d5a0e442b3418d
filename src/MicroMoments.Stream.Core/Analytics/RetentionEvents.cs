using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// Folds raw events (and, when given, the decisions made on them) into the retention counters the worker keeps live
/// (<see cref="RetentionCounting"/>), for <c>report --events</c>: each user's events in file order, as
/// <c>simulate</c> and the worker's partitions take them, through the same per-user step.
/// </summary>
public sealed class RetentionEvents
{
    // simulate's limits: a file is history, so no timestamp is "in the future".
    private readonly ClickEventParser _parser = new(new ParserLimits { MaxFutureSkew = TimeSpan.MaxValue });
    private readonly Dictionary<string, UserTrack> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<GroupTrack>> _groups = new(StringComparer.Ordinal);
    private readonly List<StatIncrement> _stats = [];
    private DateTimeOffset _clock = DateTimeOffset.UnixEpoch;

    /// <summary>A fold that also counts, per rule and for the program, the users each decision put in a treated or control arm.</summary>
    public RetentionEvents(IEnumerable<Decision> decisions)
    {
        foreach (var d in decisions)
        {
            if (RetentionArms.Of(d) is not { } arm)
            {
                continue;
            }
            var at = d.At.ToUnixTimeMilliseconds();
            if (!_groups.TryGetValue(d.UserId, out var groups))
            {
                _groups[d.UserId] = groups = [];
            }
            foreach (var suffix in new[] { RetentionArms.Suffix(arm, d.RuleId), RetentionArms.Suffix(arm, RetentionArms.Program) })
            {
                // Anchored at the first treatment (or ghost), whatever order the file lists decisions in.
                var i = groups.FindIndex(g => g.Suffix == suffix);
                if (i < 0)
                {
                    groups.Add(new GroupTrack(suffix, at));
                }
                else if (at < groups[i].Anchor)
                {
                    groups[i] = new GroupTrack(suffix, at);
                }
            }
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
        if (!RetentionCounting.IsActivity(e.Key))
        {
            return;
        }
        var at = e.Timestamp.ToUnixTimeMilliseconds();
        ref var user = ref CollectionsMarshal.GetValueRefOrAddDefault(_users, e.UserId, out _);
        if (e.Key == EventNames.SignedUp)
        {
            user.SignedUpAt ??= at; // the worker's state: the first sign-up in arrival order
        }
        RetentionCounting.Observe(ref user.Marks, user.SignedUpAt, RetentionCounting.IsSignUp(e, user.SignedUpAt), user.Latest, at, _stats);
        user.Latest = Math.Max(user.Latest, at);
        if (_groups.TryGetValue(e.UserId, out var groups))
        {
            foreach (var g in groups)
            {
                RetentionCounting.Retain(ref g.Marks, g.Anchor, at, g.Suffix, _stats);
            }
        }
    }

    /// <summary>The counters so far, in the layout the worker keeps in Redis: rule id "" → "day|metric" → count.</summary>
    public Dictionary<string, Dictionary<string, long>> Counters()
    {
        var counters = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        AddTo(counters);
        return counters;
    }

    /// <summary>Adds the counters so far to <paramref name="counters"/> (a decisions file's, say).</summary>
    public void AddTo(Dictionary<string, Dictionary<string, long>> counters)
    {
        foreach (var s in _stats)
        {
            s.AddTo(counters);
        }
        foreach (var g in _groups.Values.SelectMany(g => g))
        {
            new StatIncrement("", RetentionCounting.DayName(g.Anchor), RetentionCounting.Entered + g.Suffix).AddTo(counters);
        }
    }

    private struct UserTrack
    {
        public long? SignedUpAt;
        public long Latest;
        public int Marks;
    }

    private sealed class GroupTrack(string suffix, long anchor)
    {
        public string Suffix { get; } = suffix;

        public long Anchor { get; } = anchor;

        public int Marks;
    }
}
