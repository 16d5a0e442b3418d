using MicroMoments.Stream.Core.Pipeline;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>The pipeline's <see cref="ActivitySource"/> and <see cref="Meter"/>: one of each, named <c>MicroMoments.Stream.Pipeline</c>.</summary>
public sealed class PipelineTelemetry
{
    public const string Name = "MicroMoments.Stream.Pipeline";
    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _events;
    private readonly Counter<long> _interventions;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _timersFired;
    private readonly Counter<long> _redisErrors;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _timerLag;
    private readonly Histogram<double> _batchSeconds;
    private readonly Counter<long> _ruleOutcomes;
    private readonly Counter<long> _foreignFeedback;
    private readonly Counter<long> _repeatedFeedback;
    private readonly Counter<long> _lateEvents;
    private readonly Counter<long> _stateBounds;
    private readonly Counter<long> _populationSyncFailures;
    private readonly Counter<long> _timerErrors;
    private readonly Counter<long> _aliasMerges;
    private readonly Counter<long> _unknownTimezones;
    private readonly Counter<long> _splitUsers;
    private readonly Counter<long> _quarantined;

    private readonly Counter<long> _suppressions;
    private readonly Counter<long> _ruleReloads;
    private readonly Counter<long> _segmentReloads;
    private readonly Counter<long> _recordsLost;
    private readonly ConcurrentDictionary<(string Topic, int Partition), long> _lag = new();
    private long _pendingTimers;

    public PipelineTelemetry(IMeterFactory meters, RuleEngineProvider engines)
    {
        var meter = meters.Create(Name);
        _suppressions = meter.CreateCounter<long>("micromoments.stream.suppressions", "{decision}", "Matched rules that emitted nothing, by reason.");
        _recordsLost = meter.CreateCounter<long>("micromoments.stream.records.lost", "{record}",
            "Input records deleted by the broker (retention) before they were read, by topic and partition.");
        _ruleReloads = meter.CreateCounter<long>("micromoments.stream.rules.reloads", "{reload}", "Rules-file reloads, by result (ok, failed).");
        _segmentReloads = meter.CreateCounter<long>("micromoments.stream.segments.reloads", "{reload}", "Segments-file reloads, by result (ok, failed).");
        meter.CreateObservableGauge("micromoments.stream.rules.version", () =>
            new Measurement<int>(1, new KeyValuePair<string, object?>("version", engines.Current.Rules.Version)), "{version}", "The loaded rules version (value 1, version as a tag).");
        meter.CreateObservableGauge("micromoments.stream.consumer.lag", () =>
            _lag.Select(l => new Measurement<long>(l.Value, new("topic", l.Key.Topic), new("partition", l.Key.Partition))), "{message}",
            "Records behind the partition's high watermark, per owned partition.");
        meter.CreateObservableGauge("micromoments.stream.timers.pending", () => Interlocked.Read(ref _pendingTimers), "{user}",
            "Users with a pending timer in the partitions this instance owns.");
        _events = meter.CreateCounter<long>("micromoments.stream.events.consumed", "{event}", "Inbound records, by topic and outcome (applied, duplicate, dead_lettered).");
        _interventions = meter.CreateCounter<long>("micromoments.stream.interventions", "{intervention}", "Intervention commands emitted, by rule, moment and channel.");
        _decisions = meter.CreateCounter<long>("micromoments.stream.decisions", "{decision}", "Rule decisions, by outcome and reason.");
        _deadLetters = meter.CreateCounter<long>("micromoments.stream.dead_letters", "{record}", "Records sent to the dead-letter topic, by reason.");
        _timersFired = meter.CreateCounter<long>("micromoments.stream.timers.fired", "{timer}", "Users whose due timers were fired.");
        _redisErrors = meter.CreateCounter<long>("micromoments.stream.redis.errors", "{error}", "Redis calls that failed after retries.");
        _latency = meter.CreateHistogram<double>("micromoments.stream.processing.latency", "s", "Event time to decision.");
        _timerLag = meter.CreateHistogram<double>("micromoments.stream.timers.fire_lag", "s", "Timer due time to firing.");
        _batchSeconds = meter.CreateHistogram<double>("micromoments.stream.batch.duration", "s", "Wall time to process one batch, Redis and Kafka acks included.");
        _ruleOutcomes = meter.CreateCounter<long>("micromoments.stream.rule.outcomes", "{event}",
            "Response analytics per rule and variant: matched, emitted, deferred, held_out, suppressed.<reason>, delivered, displayed, clicked, dismissed, converted.");
        _aliasMerges = meter.CreateCounter<long>("micromoments.stream.alias.merges", "{alias}", "Alias calls applied, by outcome: merged (an anonymous user into the identified one), or nothing merged because the previous id was identified, already_merged or not_found.");
        _timerErrors = meter.CreateCounter<long>("micromoments.stream.timers.errors", "{user}", "Users whose due timers made a rule throw (the timers are dropped; other users go on).");
        _unknownTimezones = meter.CreateCounter<long>("micromoments.stream.events.unknown_timezone", "{event}", "Events naming a time zone the embedded tz database does not know (taken as none: UTC).");
        _splitUsers = meter.CreateCounter<long>("micromoments.stream.users.split_partitions", "{user}",
            "Users found with state on two partitions (the producers partition them differently), each counted once while remembered.");
        _quarantined = meter.CreateCounter<long>("micromoments.stream.state.quarantined", "{user}",
            "Users whose stored state could not be read: its bytes kept under the quarantine key, dead-lettered state_unreadable, the user started fresh.");
        _foreignFeedback = meter.CreateCounter<long>("micromoments.stream.feedback.foreign", "{event}", "Feedback naming an intervention the user was never sent (ignored).");
        _repeatedFeedback = meter.CreateCounter<long>("micromoments.stream.feedback.repeated", "{event}",
            "Feedback of a type already counted for its intervention, such as a double tap (counted once, the repeat ignored).");
        _lateEvents = meter.CreateCounter<long>("micromoments.stream.events.late", "{event}",
            "Events stamped earlier than their user's latest by more than policies.allowedLateness: applied to state, never triggering (decisions: late_event).");
        _stateBounds = meter.CreateCounter<long>("micromoments.stream.state.bounded", "{entry}",
            "User-state bounds at work, by action: ignored (a value too long, or an implausible duration), evicted (least recently used trait, feature or task), trimmed (old history, for the byte bound).");
        meter.CreateObservableCounter("micromoments.stream.population.refused", () => engines.Population.Refused, "{vote}",
            "Task-time votes refused because the population baseline holds its maximum of tasks.");
        _populationSyncFailures = meter.CreateCounter<long>("micromoments.stream.population.sync_failures", "{sync}",
            "Population syncs Redis refused (a command error, not an outage); their votes are dropped.");
    }

    public void Event(string topic, string outcome, long n = 1) =>
        _events.Add(n, new("topic", topic), new("outcome", outcome));

    public void DeadLetter(string reason) => _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Emitted(InterventionCommand c) =>
        _interventions.Add(1, new("rule", c.RuleId), new("moment", c.Moment), new("channel", c.Channel));

    public void Decided(Decision d)
    {
        _decisions.Add(1, new("outcome", d.Outcome), new("reason", d.Reason ?? "none"));
        if (d.Outcome == Outcomes.Suppressed)
        {
            _suppressions.Add(1, new KeyValuePair<string, object?>("reason", d.Reason));
        }
    }

    public void RulesReloaded(bool ok) => _ruleReloads.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    public void SegmentsReloaded(bool ok) => _segmentReloads.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    public void Lag(string topic, int partition, long lag) => _lag[(topic, partition)] = lag;

    public void ForgetLag(string topic, int partition) => _lag.TryRemove((topic, partition), out _);

    public void PendingTimers(long users) => Interlocked.Exchange(ref _pendingTimers, users);

    public void TimerFired(TimeSpan lag)
    {
        _timersFired.Add(1);
        _timerLag.Record(Math.Max(0, lag.TotalSeconds));
    }

    public void RedisError() => _redisErrors.Add(1);

    public void PopulationSyncFailed() => _populationSyncFailures.Add(1);

    public void TimerError() => _timerErrors.Add(1);

    public void Alias(string outcome) => _aliasMerges.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void SplitUser() => _splitUsers.Add(1);

    public void StateQuarantined() => _quarantined.Add(1);

    public void UnknownTimezone(long n) => _unknownTimezones.Add(n);

    public void RecordsLost(string topic, int partition, long n) => _recordsLost.Add(n, new("topic", topic), new("partition", partition));

    /// <summary>Exports a batch's analytics counters (the same increments kept in Redis).</summary>
    public void RuleOutcomes(BatchWork work)
    {
        foreach (var rules in work.Counters.Values)
        {
            foreach (var (rule, fields) in rules.Where(r => r.Key.Length > 0))
            {
                foreach (var (field, count) in fields)
                {
                    var bar = field.IndexOf('|', StringComparison.Ordinal);
                    _ruleOutcomes.Add(count, new("rule", rule), new("variant", field[..bar]), new("metric", field[(bar + 1)..]));
                }
            }
        }
        if (work.ForeignFeedback > 0)
        {
            _foreignFeedback.Add(work.ForeignFeedback);
        }
        if (work.RepeatedFeedback > 0)
        {
            _repeatedFeedback.Add(work.RepeatedFeedback);
        }
        if (work.LateEvents > 0)
        {
            _lateEvents.Add(work.LateEvents);
        }
        var (ignored, evicted, trimmed) = work.Bounded;
        foreach (var (action, n) in new[] { ("ignored", ignored), ("evicted", evicted), ("trimmed", trimmed) })
        {
            if (n > 0)
            {
                _stateBounds.Add(n, new KeyValuePair<string, object?>("action", action));
            }
        }
    }

    public void Latency(TimeSpan eventToDecision) => _latency.Record(Math.Max(0, eventToDecision.TotalSeconds));

    public void Batch(TimeSpan elapsed) => _batchSeconds.Record(elapsed.TotalSeconds);
}
