using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Policies;
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

    public OfflineSimulation(RuleSet rules)
    {
        _engine = new RuleEngine(rules, new EngineOptions { CheckStaleness = false });
        _ledger = rules.RateLimits.Count > 0 ? new InMemoryRateLedger() : null;
    }

    /// <summary>The rate limits' minute counters (<c>policies.rateLimit</c>), as the worker's instances share them in Redis.</summary>
    private readonly InMemoryRateLedger? _ledger;
    private long _ledgerTrimmedAt;

    /// <summary>
    /// The virtual clock: the latest event or timer time seen, so the file's own timeline. No future-skew check: a
    /// file has no wall clock to be ahead of, and real files jump days ahead between lines (the worker dead-letters
    /// a record more than MaxFutureSkew ahead of its wall clock instead).
    /// </summary>
    public DateTimeOffset Clock { get; private set; } = DateTimeOffset.UnixEpoch;

    public IReadOnlyDictionary<string, UserState> Users => _users;

    public List<InterventionCommand> Interventions { get; } = [];

    public List<InterventionCancellation> Cancellations { get; } = [];

    /// <summary>Every message for the interventions topic (commands and cancellations) in the order the worker produces them.</summary>
    public List<OutputMessage> Output { get; } = [];

    public List<Decision> Decisions { get; } = [];

    /// <summary>The responses the engine counted (delivered, clicked, …, converted), in the order it counted them.</summary>
    public List<FeedbackRecord> Feedback { get; } = [];

    /// <summary>Analytics counters as the worker keeps them in Redis: rule id ("" = cohorts) → "variant|metric" → count.</summary>
    public Dictionary<string, Dictionary<string, long>> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>Timers that made a rule throw, in the order they fired: each affected only its own user, and the run went on.</summary>
    public List<TimerFailure> TimerFailures { get; } = [];

    /// <summary>Events that named a time zone the embedded database does not know (treated as none).</summary>
    public long UnknownTimezones { get; private set; }

    /// <summary>Alias calls accepted but merging nothing: their previousId was never seen, seen under a userId, or merged already (<see cref="UserMerge.Refusal"/>).</summary>
    public long AliasesNotMerged { get; private set; }

    /// <summary>Feeds one NDJSON line; returns the reject reason and message for a line the worker would dead-letter.</summary>
    public ParseResult Feed(string line, long lineNumber, string source = "events") =>
        Feed(Encoding.UTF8.GetBytes(line), lineNumber, source);

    /// <summary>Feeds one NDJSON line as read from the file: its bytes are checked exactly as the worker checks a record's.</summary>
    public ParseResult Feed(ReadOnlyMemory<byte> line, long lineNumber, string source = "events")
    {
        var record = new RecordSource(source, 0, lineNumber, Clock);
        var parsed = _parser.Parse(line, null, record, Clock);
        if (!parsed.IsValid)
        {
            return parsed;
        }
        var e = parsed.Event!;
        if (e.UnknownTimezone)
        {
            UnknownTimezones++;
        }
        AdvanceTo(e.Timestamp);
        if (!_users.TryGetValue(e.UserId, out var state))
        {
            _users[e.UserId] = state = new UserState { UserId = e.UserId };
        }
        try
        {
            var evaluation = _engine.Apply(state, e, record, Clock);
            Collect(evaluation, state);
            if (evaluation.Applied && e.PreviousId is { } previous && previous != e.UserId)
            {
                if (!_users.TryGetValue(previous, out var anonymous))
                {
                    AliasesNotMerged++; // an id never seen, as the worker's not_found
                }
                else if (_engine.MergeAlias(state, anonymous).Tombstone is { } tombstone)
                {
                    _users[previous] = tombstone;
                }
                else
                {
                    AliasesNotMerged++;
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // As the worker dead-letters the record: this line is reported, the user keeps what was applied, the run goes on.
            Schedule(state);
            return ParseResult.Reject(RejectReasons.RuleError, $"{ex.GetType().Name}: {ex.Message}");
        }
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
            // A timer armed past the last representable time (a rule duration beyond it) fires, and fails, at the end of time.
            var due = DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(entry.Due, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
            if (due > Clock)
            {
                Clock = due;
            }
            try
            {
                Collect(_engine.FireDue(state, Clock), state);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The timers due now are dropped, or they would throw again at every step of the clock.
                RuleEngine.DropDue(state, Clock);
                TimerFailures.Add(new TimerFailure(userId, due, $"{ex.GetType().Name}: {ex.Message}"));
            }
            Schedule(state);
        }
        if (until > Clock)
        {
            Clock = until;
        }
    }

    /// <summary>Moves the clock <paramref name="drain"/> past its time, or to the last representable time if that is sooner.</summary>
    public void AdvanceBy(TimeSpan drain) =>
        AdvanceTo(drain > DateTimeOffset.MaxValue - Clock ? DateTimeOffset.MaxValue : Clock + drain);

    /// <summary>The worker's pace stage on one user's evaluation: a batch of one, against the in-memory ledger.</summary>
    private void CollectPaced(Evaluation evaluation, UserState state, InMemoryRateLedger ledger)
    {
        const string shard = "";
        var minute = Clock.ToUnixTimeMilliseconds() / RateLimitPolicy.MinuteMs;
        if (minute - _ledgerTrimmedAt >= 60)
        {
            ledger.ForgetBefore(minute); // no command is delivered before the clock: its past minutes are asked for no more
            _ledgerTrimmedAt = minute;
        }
        var work = new BatchWork();
        work.MarkDirty(shard, state);
        work.Add(shard, evaluation, default);
        var asks = MinuteAsks.Collect(_engine.Rules, work);
        asks.Settle(_engine, work, ledger.Reserve(asks.Requests), Clock);
        // As Collect: the evaluation's cancellations (all before its commands, Before = 0) go out first.
        foreach (var x in work.Cancellations)
        {
            Output.Add(new OutputMessage(null, x.Cancellation));
        }
        foreach (var c in work.Interventions)
        {
            Output.Add(new OutputMessage(c.Command, null));
        }
        Cancellations.AddRange(work.Cancellations.Select(x => x.Cancellation));
        Interventions.AddRange(work.Interventions.Select(i => i.Command));
        Decisions.AddRange(work.Decisions.Select(d => d.Decision));
        Feedback.AddRange(evaluation.Feedback);
        foreach (var (rule, fields) in work.Counters.GetValueOrDefault(shard) ?? [])
        {
            if (!Counters.TryGetValue(rule, out var into))
            {
                Counters[rule] = into = new Dictionary<string, long>(StringComparer.Ordinal);
            }
            foreach (var (field, n) in fields)
            {
                into[field] = into.GetValueOrDefault(field) + n;
            }
        }
    }

    private void Schedule(UserState state)
    {
        if (state.NextDueAt is { } due)
        {
            _timers.Enqueue(state.UserId, (due, state.UserId));
        }
    }

    private void Collect(Evaluation evaluation, UserState state)
    {
        if (_ledger is not null && evaluation.Awaiting.Count > 0)
        {
            CollectPaced(evaluation, state, _ledger);
            return;
        }
        // An evaluation's cancellations withdraw earlier commands: they go out before its own commands, as in the worker.
        foreach (var x in evaluation.Cancellations)
        {
            Output.Add(new OutputMessage(null, x));
        }
        foreach (var c in evaluation.Interventions)
        {
            Output.Add(new OutputMessage(c, null));
        }
        Cancellations.AddRange(evaluation.Cancellations);
        Interventions.AddRange(evaluation.Interventions);
        Decisions.AddRange(evaluation.Decisions);
        Feedback.AddRange(evaluation.Feedback);
        foreach (var stat in evaluation.Stats)
        {
            stat.AddTo(Counters);
        }
    }
}

/// <summary>One message for the interventions topic: a command or a cancellation.</summary>
public sealed record OutputMessage(InterventionCommand? Command, InterventionCancellation? Cancellation)
{
    /// <summary>The CloudEvent JSON the worker produces for it.</summary>
    public byte[] Encode() => Command is not null ? InterventionCloudEvents.Encode(Command) : Cancellation!.Encode();
}

/// <summary>A user's timer that made a rule throw at <see cref="DueAt"/>.</summary>
public sealed record TimerFailure(string UserId, DateTimeOffset DueAt, string Error);
