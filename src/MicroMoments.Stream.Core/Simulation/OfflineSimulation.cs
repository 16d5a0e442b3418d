using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Simulation;

/// <summary>
/// The worker's logic offline: events in file order on a virtual clock that follows their timestamps,
/// timers fired as the clock passes them, in due order. Deterministic: the same input gives the same output.
/// </summary>
/// <remarks>
/// Each line, and each timer as it comes due, is a batch of one through the worker's own <see cref="BatchPipeline"/>
/// (load → decide → pace); only the ports are in memory: the users (<see cref="InMemoryUserStates"/>), the rate ledger,
/// the clock and the timer queue. What is decided is read from the batch's <see cref="BatchWork"/>.
/// </remarks>
public sealed class OfflineSimulation
{
    private const string Shard = InMemoryUserStates.Shard;
    private readonly ClickEventParser _parser = new(new ParserLimits { MaxFutureSkew = TimeSpan.MaxValue });
    private readonly InMemoryUserStates _users = new();
    private readonly VirtualClock _clock = new();
    private readonly BatchPipeline _pipeline;
    private readonly PriorityQueue<string, (long Due, string User)> _timers = new(Comparer<(long Due, string User)>.Create(
        (a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : string.CompareOrdinal(a.User, b.User)));

    /// <summary>The due time of the timer being fired, for <see cref="TimerFailures"/>.</summary>
    private DateTimeOffset _firing;

    /// <summary>The bandit experiments' arms: what this run decided, counted as it goes (simulate is alone, nothing to share).</summary>
    private readonly ArmStatistics _arms = new();

    /// <summary>A run of <paramref name="rules"/>; <paramref name="segments"/>: what <c>user.cluster</c> is assigned from, as the worker's <c>MicroMoments:Segments:Path</c>.</summary>
    public OfflineSimulation(RuleSet rules, SegmentModel? segments = null)
    {
        var engine = new RuleEngine(rules, new EngineOptions { CheckStaleness = false, Arms = _arms, Segments = segments });
        // Never trimmed: every user stays cached, so the store is only asked for users it has never seen.
        var cache = new UserStateCache(int.MaxValue);
        var events = new SimulationEvents(this);
        _pipeline = new BatchPipeline(
            new LoadStage(cache, _users),
            new DecideStage(() => engine, cache, events),
            // The rate limits' minute counters (policies.rateLimit), as the worker's instances share them in Redis.
            new PaceStage(() => engine, new InMemoryRateLedger(), events),
            AllShardsOwned.Instance,
            _clock);
    }

    /// <summary>
    /// The virtual clock: the latest event or timer time seen, so the file's own timeline. No future-skew check: a
    /// file has no wall clock to be ahead of, and real files jump days ahead between lines (the worker dead-letters
    /// a record more than MaxFutureSkew ahead of its wall clock instead).
    /// </summary>
    public DateTimeOffset Clock => _clock.Now;

    public IReadOnlyDictionary<string, UserState> Users => _users.Users;

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
        var work = Run([new ParsedRecord(e, record, Shard, default, new SourceRecord(source, 0, lineNumber, record.Timestamp.UtcDateTime, null, null))], []);
        // A rule that threw: the worker dead-letters the record; the user keeps what was applied, and the run goes on.
        return work.DeadLetters is [var failed, ..] ? ParseResult.Reject(failed.Reason, failed.Message) : parsed;
    }

    /// <summary>Moves the clock forward to <paramref name="until"/>, firing every timer due on the way.</summary>
    public void AdvanceTo(DateTimeOffset until)
    {
        while (_timers.TryPeek(out var userId, out var entry) && entry.Due <= until.ToUnixTimeMilliseconds())
        {
            _timers.Dequeue();
            if (Users[userId].NextDueAt != entry.Due)
            {
                continue; // superseded: the user's timers changed after this entry was queued
            }
            // A timer armed past the last representable time (a rule duration beyond it) fires, and fails, at the end of time.
            _firing = DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(entry.Due, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
            if (_firing > Clock)
            {
                _clock.Now = _firing;
            }
            Run([], [(Shard, [userId])]);
        }
        if (until > Clock)
        {
            _clock.Now = until;
        }
    }

    /// <summary>Moves the clock <paramref name="drain"/> past its time, or to the last representable time if that is sooner.</summary>
    public void AdvanceBy(TimeSpan drain) =>
        AdvanceTo(drain > DateTimeOffset.MaxValue - Clock ? DateTimeOffset.MaxValue : Clock + drain);

    /// <summary>One batch through the pipeline; its users are saved and their timers queued, and what it decided is collected.</summary>
    private BatchWork Run(List<ParsedRecord> records, (string Shard, string[] Users)[] timers)
    {
        var work = new BatchWork();
        var run = _pipeline.RunAsync(records, timers, work, NoOutageGate.Instance, CancellationToken.None);
        // Every port here is memory and answers at once, so the run has completed by the time it returns.
        if (!run.IsCompleted)
        {
            throw new InvalidOperationException("simulate's pipeline did not complete at once: one of its in-memory ports awaited something");
        }
        run.GetAwaiter().GetResult();
        _users.Save(work);
        foreach (var users in work.Dirty.Values)
        {
            foreach (var state in users.Values)
            {
                Schedule(state);
            }
        }
        Collect(work);
        return work;
    }

    private void Schedule(UserState state)
    {
        if (state.NextDueAt is { } due)
        {
            _timers.Enqueue(state.UserId, (due, state.UserId));
        }
    }

    private void Collect(BatchWork work)
    {
        foreach (var m in work.Messages())
        {
            Output.Add(new OutputMessage(m.Command, m.Cancellation));
        }
        Cancellations.AddRange(work.Cancellations.Select(x => x.Cancellation));
        Interventions.AddRange(work.Interventions.Select(i => i.Command));
        Decisions.AddRange(work.Decisions.Select(d => d.Decision));
        Feedback.AddRange(work.Feedback);
        if (work.Counters.GetValueOrDefault(Shard) is { } counters)
        {
            _arms.Observe(counters);
            _arms.Commit();
        }
        foreach (var (rule, fields) in work.Counters.GetValueOrDefault(Shard) ?? [])
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

    /// <summary>The file's timeline as the pipeline's clock.</summary>
    private sealed class VirtualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>What the stages report that simulate keeps: the alias calls that merged nothing and the timers that threw.</summary>
    private sealed class SimulationEvents(OfflineSimulation simulation) : IPipelineEvents
    {
        public void AliasNotMerged(string previousId, string userId, string reason, RecordSource source) => simulation.AliasesNotMerged++;

        public void TimerFailed(Exception ex, string shard, string userId) =>
            simulation.TimerFailures.Add(new TimerFailure(userId, simulation._firing, $"{ex.GetType().Name}: {ex.Message}"));

        public void DeadLettered(RejectedRecord rejected)
        {
        }

        public void UnknownTimezones(int count)
        {
        }

        public void RuleFailed(Exception ex, RecordSource source)
        {
        }

        public void AliasMerged(string outcome)
        {
        }

        public void Decided(TimeSpan eventToDecision)
        {
        }

        public void TimerFired(TimeSpan late)
        {
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
