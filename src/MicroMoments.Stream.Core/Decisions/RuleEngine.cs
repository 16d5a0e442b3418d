using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Applies events to a user's state and decides interventions. Pure: no I/O and no clock of its own;
/// the caller passes the time, so the worker, <c>simulate</c> and the tests run the same logic.
/// </summary>
public sealed class RuleEngine
{
    private static readonly HashSet<string> Responses = new(StringComparer.Ordinal)
    {
        "intervention clicked", "intervention dismissed", "intervention converted",
    };

    /// <summary>Reports from delivery services, not things the user did: they never count as activity.</summary>
    private static readonly HashSet<string> DeliveryReports = new(StringComparer.Ordinal)
    {
        "intervention delivered", "intervention displayed",
    };

    /// <summary>
    /// One rolling timer stands for every inactivity rule: they all count from the user's last event, so it
    /// is armed at the shortest idle time and, when it fires, moves on to the next longer one.
    /// </summary>
    public const string IdleTimerId = "~idle";

    private readonly EngineOptions _options;
    private readonly PolicyGate _gate;
    private readonly List<IGrouping<TimeSpan, Rule>> _idleRules;
    private readonly EventRuleIndex _index;
    private readonly HashSet<string> _conversionEvents;

    public RuleEngine(RuleSet rules, EngineOptions? options = null, PopulationBaseline? population = null)
    {
        Rules = rules;
        _options = options ?? new EngineOptions();
        _gate = new PolicyGate(rules);
        Population = population ?? new PopulationBaseline(_options.Limits.MaxPopulationTasks);
        _idleRules = rules.Rules.Where(r => r.Trigger.Kind == TriggerKind.Inactivity).GroupBy(r => r.Trigger.Duration).OrderBy(g => g.Key).ToList();
        _index = new EventRuleIndex(rules.Rules);
        _conversionEvents = rules.Rules.Where(r => r.Conversion is not null).Select(r => r.Conversion!.Event).ToHashSet(StringComparer.Ordinal);
    }

    public RuleSet Rules { get; }

    /// <summary>Population statistics shared by every user this engine sees (kept across rule reloads by the caller).</summary>
    public PopulationBaseline Population { get; }

    /// <summary>
    /// Applies one event. A record at or below the user's watermark for its partition (a redelivery), or
    /// with a recently seen messageId (an upstream duplicate), changes nothing.
    /// </summary>
    public Evaluation Apply(UserState state, ClickEvent e, RecordSource source, DateTimeOffset now)
    {
        var wmKey = source.PartitionKey;
        if (state.Watermarks.TryGetValue(wmKey, out var watermark) && source.Offset <= watermark)
        {
            return Evaluation.Duplicate;
        }
        var first = state.Watermarks.Count == 0; // watermarks are never trimmed: none means no event was ever applied
        state.Watermarks[wmKey] = source.Offset;
        if (UserProfile.SeenBefore(state, e.MessageId))
        {
            return Evaluation.Duplicate;
        }
        // Once the user is seen by a userId (or a record key), no alias can take the history away.
        state.Anonymous = e.Anonymous && (first || state.Anonymous);

        var result = new Evaluation();
        if (DeliveryReports.Contains(e.Key))
        {
            RecordFeedback(state, e, result);
            return ApplyDeliveryReport(state, e, now, result);
        }

        // Only the rules this event's name can concern, in file order (the order timers are armed in).
        var rules = _index.For(e.Key);

        // Thresholds fire when a metric enters its range, so read the metrics as they stood at the user's
        // previous event too (a score that decayed below a line since then has crossed it).
        var previous = state.LastEventAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(state.LastEventAt) : e.Timestamp;
        Span<double?> before = rules.Metrics == 0 ? default : rules.Rules.Length <= 64 ? stackalloc double?[rules.Rules.Length] : new double?[rules.Rules.Length];
        if (rules.Metrics > 0)
        {
            for (var i = 0; i < rules.Rules.Length; i++)
            {
                if (rules.Rules[i].Trigger is { Kind: TriggerKind.Threshold or TriggerKind.Streak } t)
                {
                    before[i] = Metrics.Read(t.Metric ?? "streakDays", state, e, null, previous);
                }
            }
        }
        var observation = UserProfile.Observe(state, e, Population, _options.Limits);
        result.IgnoredValues += observation.Ignored;
        result.Evicted += observation.Evicted;
        var ts = e.Timestamp.ToUnixTimeMilliseconds();
        if (Responses.Contains(e.Key) && RecordFeedback(state, e, result))
        {
            CancelEscalations(state, e);
        }
        if (_conversionEvents.Contains(e.Key))
        {
            AttributeConversions(state, e, ts, result);
        }
        CountCohorts(state, e, result);

        List<Candidate>? candidates = null;
        for (var i = 0; i < rules.Rules.Length; i++)
        {
            var rule = rules.Rules[i];
            var t = rule.Trigger;
            switch (t.Kind)
            {
                case TriggerKind.Event when t.Matches(e):
                    (candidates ??= []).Add(new Candidate(rule, "event", [e.MessageId], Details(e), e.MessageId));
                    break;
                case TriggerKind.Count when t.Matches(e):
                    if (CountHit(state, rule, e, ts) is { } hits)
                    {
                        var details = Details(e);
                        details["count"] = hits.Count;
                        details["window"] = Durations.ToIso(t.Duration);
                        (candidates ??= []).Add(new Candidate(rule, "count", hits.Select(h => h.EventId).ToArray(), details, e.MessageId));
                    }
                    break;
                case TriggerKind.Threshold or TriggerKind.Streak when t.Event is null || t.Matches(e):
                    var metric = t.Metric ?? "streakDays";
                    var after = Metrics.Read(metric, state, e, observation, e.Timestamp);
                    var entered = t.Kind == TriggerKind.Streak
                        ? after == t.Days && before[i] != t.Days
                        : t.InRange(after) && !t.InRange(before[i]);
                    if (entered)
                    {
                        var details = Details(e);
                        details["metric"] = metric;
                        details["value"] = after!.Value;
                        (candidates ??= []).Add(new Candidate(rule, t.Kind == TriggerKind.Streak ? "streak" : "threshold", [e.MessageId], details, e.MessageId));
                    }
                    break;
                case TriggerKind.Dwell:
                    // Any event ends a dwell; a matching view starts a new one.
                    Timers.Cancel(state, rule.Id);
                    if (e.IsView && (t.View is null || string.Equals(t.View, e.ViewName, StringComparison.OrdinalIgnoreCase)))
                    {
                        Timers.Arm(state, rule.Id, rule.Id, ts + (long)t.Duration.TotalMilliseconds, e.MessageId,
                            new Dictionary<string, string> { ["view"] = e.ViewName ?? "" });
                    }
                    break;
                case TriggerKind.Absence:
                    if (e.Key == t.Missing)
                    {
                        Timers.Cancel(state, AbsenceTimerId(rule, e));
                    }
                    else if (t.Matches(e) && t.Per is not null && e.Property(t.Per)?.Length > _options.Limits.MaxStringLength)
                    {
                        result.IgnoredValues++; // the value would become a timer id in state: like any long value, it is not kept
                    }
                    else if (t.Matches(e))
                    {
                        result.Evicted += Timers.Arm(state, AbsenceTimerId(rule, e), rule.Id, ts + (long)t.Duration.TotalMilliseconds, e.MessageId,
                            StoredDetails(e, result), _options.Limits.MaxTimers);
                    }
                    break;
            }
        }
        PruneWindows(state, ts);
        if (_idleRules.Count > 0)
        {
            Timers.Arm(state, IdleTimerId, IdleTimerId, state.LastEventAt + (long)_idleRules[0].Key.TotalMilliseconds, e.MessageId, null);
        }

        if (candidates is not null)
        {
            Decide(state, Holding(candidates, new ValueContext(state, Rules, e.Timestamp, e)), e.Timestamp, now, result, e);
        }
        Bound(state, result);
        return result;
    }

    /// <summary>
    /// After an applied <c>alias</c>: merges the previous id's state into the user's (<see cref="UserMerge"/>) and
    /// returns the tombstone that replaces the previous id's state; or, when that state is not an anonymous one
    /// (<see cref="UserMerge.Refusal"/>), changes nothing and says why.
    /// </summary>
    public AliasMerge MergeAlias(UserState into, UserState from)
    {
        if (UserMerge.Refusal(from) is { } refused)
        {
            return new AliasMerge(null, refused);
        }
        var tombstone = UserMerge.Merge(into, from, _options.Limits);
        StateBounds.Enforce(into, _options.Limits);
        return new AliasMerge(tombstone, UserMerge.Merged);
    }

    /// <summary>Keeps the state's bounds after an event or a timer: the user's own history gives way, never another user's.</summary>
    private void Bound(UserState state, Evaluation result)
    {
        var (evicted, trimmed) = StateBounds.Enforce(state, _options.Limits);
        result.Evicted += evicted;
        result.Trimmed += trimmed;
    }

    /// <summary>
    /// An event's properties as a timer keeps them, without values too long to store (counted). The names of numbers
    /// and booleans go under <see cref="LiteralsKey"/>, so the details keep their JSON types when the timer fires.
    /// </summary>
    private Dictionary<string, string> StoredDetails(ClickEvent e, Evaluation result) =>
        StoredDetails(e.Properties.Select(p => (p.Key, p.Value, e.Literals?.Contains(p.Key) == true)), result);

    /// <summary>Trigger details (text, <see cref="JsonLiteral"/>, or a count, metric value or flag) as a timer keeps them.</summary>
    private Dictionary<string, string> StoredDetails(IReadOnlyDictionary<string, object> details, Evaluation result) =>
        StoredDetails(details.Select(d => StoredValue(d.Key, d.Value)), result);

    /// <summary>Numbers and booleans the engine puts in details (<c>count</c>, <c>value</c>) stay JSON-typed through a timer.</summary>
    private static (string Name, string Value, bool Literal) StoredValue(string name, object value) => value switch
    {
        JsonLiteral l => (name, l.Text, true),
        bool b => (name, b ? "true" : "false", true),
        int or long or decimal => (name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!, true),
        double d => (name, d.ToString("R", System.Globalization.CultureInfo.InvariantCulture), double.IsFinite(d)),
        _ => (name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "", false),
    };

    private Dictionary<string, string> StoredDetails(IEnumerable<(string Name, string Value, bool Literal)> properties, Evaluation result)
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        string? literals = null;
        foreach (var (k, v, literal) in properties)
        {
            if (k.Length > _options.Limits.MaxStringLength || v.Length > _options.Limits.MaxStringLength)
            {
                result.IgnoredValues++;
                continue;
            }
            details[k] = v;
            if (literal && !k.Contains('\n', StringComparison.Ordinal))
            {
                literals = literals is null ? k : $"{literals}\n{k}";
            }
        }
        if (literals is not null && literals.Length <= _options.Limits.MaxStringLength)
        {
            details[LiteralsKey] = literals;
        }
        return details;
    }

    /// <summary>In a timer's stored details: the names, one a line, whose values were JSON numbers or booleans.</summary>
    private const string LiteralsKey = "~literals";

    private static string AbsenceTimerId(Rule rule, ClickEvent e) =>
        rule.Trigger.Per is null ? rule.Id : $"{rule.Id}|{e.Property(rule.Trigger.Per) ?? ""}";

    /// <summary>A delivery report updates no activity, session or timer; only rules on that very event can fire.</summary>
    private Evaluation ApplyDeliveryReport(UserState state, ClickEvent e, DateTimeOffset now, Evaluation result)
    {
        var candidates = Rules.Rules
            .Where(r => r.Trigger.Kind == TriggerKind.Event && r.Trigger.Matches(e))
            .Select(r => new Candidate(r, "event", [e.MessageId], Details(e), e.MessageId));
        Decide(state, Holding(candidates, new ValueContext(state, Rules, e.Timestamp, e)), e.Timestamp, now, result, e);
        return result;
    }

    /// <summary>
    /// Fires every timer of the user that is due at <paramref name="now"/>. Timers armed by the same event
    /// and due together are one trigger (the highest priority wins); conditions are checked at firing time.
    /// </summary>
    public Evaluation FireDue(UserState state, DateTimeOffset now)
    {
        var result = new Evaluation();
        var nowMs = now.ToUnixTimeMilliseconds();
        var groups = new List<(long DueAt, string ArmedBy, List<(Rule Rule, string TimerId, Dictionary<string, string>? Details)> Rules)>();
        foreach (var g in Timers.TakeDue(state, nowMs).GroupBy(t => (t.DueAt, t.ArmedBy)))
        {
            var rules = new List<(Rule, string, Dictionary<string, string>?)>();
            foreach (var timer in g)
            {
                if (timer.Id == IdleTimerId)
                {
                    AddIdleGroups(state, timer, nowMs, groups);
                }
                else if (Rules.Find(timer.RuleId) is { } rule)
                {
                    rules.Add((rule, timer.Id, timer.Details)); // a removed rule's timers lapse quietly
                }
            }
            if (rules.Count > 0)
            {
                groups.Add((g.Key.DueAt, g.Key.ArmedBy, rules));
            }
        }
        foreach (var (due, armedBy, rules) in groups.OrderBy(g => g.DueAt).ThenBy(g => g.ArmedBy, StringComparer.Ordinal))
        {
            var dueAt = DateTimeOffset.FromUnixTimeMilliseconds(due);
            var candidates = rules.Select(t =>
            {
                var details = Details(t.Details);
                details[t.Rule.Trigger.Kind == TriggerKind.Absence ? "within" : "after"] = Durations.ToIso(t.Rule.Trigger.Duration);
                return new Candidate(t.Rule, t.Rule.Trigger.Kind.ToString().ToLowerInvariant(), [armedBy], details, $"{t.TimerId}@{due}/{armedBy}");
            });
            Decide(state, Holding(candidates, new ValueContext(state, Rules, dueAt)), dueAt, now, result, null);
        }
        Bound(state, result);
        return result;
    }

    /// <summary>The inactivity rules whose idle time has passed since the idle timer's due time, and the timer re-armed for the next.</summary>
    private void AddIdleGroups(UserState state, PendingTimer timer, long nowMs, List<(long, string, List<(Rule, string, Dictionary<string, string>?)>)> groups)
    {
        foreach (var g in _idleRules)
        {
            var due = state.LastEventAt + (long)g.Key.TotalMilliseconds;
            if (due < timer.DueAt)
            {
                continue; // fired earlier in this idle stretch
            }
            if (due > nowMs)
            {
                Timers.Arm(state, IdleTimerId, IdleTimerId, due, timer.ArmedBy, null);
                return;
            }
            // Same trigger key as one timer per rule would have had: ids stay stable.
            groups.Add((due, timer.ArmedBy, g.Select(r => (r, r.Id, (Dictionary<string, string>?)null)).ToList()));
        }
    }

    // e: the triggering event; null for a timer, which fires with no event.
    private void Decide(UserState state, List<Candidate> candidates, DateTimeOffset triggerAt, DateTimeOffset now, Evaluation result, ClickEvent? e)
    {
        if (candidates.Count == 0)
        {
            return;
        }
        var stale = _options.CheckStaleness && now - triggerAt > _options.MaxTriggerAge;
        var decided = false;
        foreach (var c in candidates.OrderByDescending(c => c.Rule.Action.Priority).ThenBy(c => c.Rule.Id, StringComparer.Ordinal))
        {
            var trigger = new TriggerInfo(c.Kind, c.EventIds, c.Details);
            var id = InterventionIds.Create(state.UserId, c.Rule.Id, c.TriggerKey);
            var channel = c.Rule.Action.ChannelFor(state.Device);
            var (variant, variantSpec) = c.Rule.Experiment is { } experiment ? ExperimentAssignment.Assign(state.UserId, experiment) : ("control", null);
            result.Stats.Add(new StatIncrement(c.Rule.Id, variant, "matched"));
            var reason = stale ? Reasons.StaleTrigger
                : decided ? Reasons.LowerPriority
                : _gate.Check(state, c.Rule, channel, now);
            var (deliverAt, scheduleReason) = reason is null ? _gate.Schedule(state, c.Rule, now + c.Rule.Action.Delay) : (null, null);
            if (reason is null && deliverAt is null)
            {
                reason = scheduleReason; // quiet hours in drop mode
            }
            if (reason is not null)
            {
                result.Stats.Add(new StatIncrement(c.Rule.Id, variant, "suppressed." + reason));
                result.Decisions.Add(new Decision(state.UserId, c.Rule.Id, Rules.Version, Outcomes.Suppressed, reason, id, now, trigger));
                continue;
            }
            decided = true;
            if (variant == ExperimentAssignment.HoldoutVariant)
            {
                // A ghost: nothing is sent, but the would-be id and a conversion window are kept for a fair comparison.
                Remember(state, c.Rule, id, variant, triggerAt, ghost: true);
                result.Stats.Add(new StatIncrement(c.Rule.Id, variant, "held_out"));
                result.Decisions.Add(new Decision(state.UserId, c.Rule.Id, Rules.Version, Outcomes.HeldOut, Reasons.Holdout, id, now, trigger));
                continue;
            }
            var command = Build(state, c, trigger, id, channel, deliverAt!.Value, now, variant, variantSpec?.Message, e);
            _gate.Record(state, c.Rule, channel, now);
            Remember(state, c.Rule, id, variant, triggerAt, ghost: false);
            ArmEscalations(state, c.Rule, command, now, result);
            result.Interventions.Add(command);
            result.Stats.Add(new StatIncrement(c.Rule.Id, variant, scheduleReason is null ? "emitted" : "deferred"));
            result.Decisions.Add(new Decision(state.UserId, c.Rule.Id, Rules.Version,
                scheduleReason is null ? Outcomes.Emitted : Outcomes.Deferred, scheduleReason, id, now, trigger));
        }
    }

    internal const int RememberedInterventions = 6;
    private static readonly TimeSpan RecordRetention = TimeSpan.FromDays(7);

    /// <summary>Keeps the intervention (or ghost) for feedback and conversions, timed from its trigger: a lagging worker decides later than the user acted.</summary>
    private static void Remember(UserState state, Rule rule, string id, string variant, DateTimeOffset triggerAt, bool ghost)
    {
        state.Interventions ??= [];
        state.Interventions.Add(new InterventionRecord
        {
            Id = id, RuleId = rule.Id, Variant = variant, At = triggerAt.ToUnixTimeMilliseconds(),
            ConvertUntil = rule.Conversion is { } cv ? (triggerAt + cv.Within).ToUnixTimeMilliseconds() : null,
            Ghost = ghost ? true : null,
        });
        // Kept while feedback, conversions or the unanswered count can still need them.
        var cutoff = triggerAt.ToUnixTimeMilliseconds() - (long)RecordRetention.TotalMilliseconds;
        state.Interventions.RemoveAll(r => r.At < cutoff && (r.ConvertUntil ?? 0) < triggerAt.ToUnixTimeMilliseconds());
        if (state.Interventions.Count > RememberedInterventions)
        {
            state.Interventions.RemoveAt(0);
        }
    }

    /// <summary>
    /// Applies a delivery report or response to the intervention it names. Returns false for an id this
    /// user was never sent (foreign or expired): counted, and otherwise ignored.
    /// </summary>
    private bool RecordFeedback(UserState state, ClickEvent e, Evaluation result)
    {
        var id = e.Property("interventionId");
        var record = id is null ? null : state.Interventions?.FirstOrDefault(r => r.Id == id && r.Ghost != true);
        if (record is null)
        {
            result.ForeignFeedback++;
            return false;
        }
        var kind = e.Key["intervention ".Length..];
        switch (kind)
        {
            case "converted":
                if (record.Converted != true)
                {
                    record.Converted = true;
                    result.Stats.Add(new StatIncrement(record.RuleId, record.Variant, "converted"));
                }
                return true;
            case "dismissed":
                _gate.Dismissed(state, Rules.Find(record.RuleId), record.RuleId, e.Timestamp.ToUnixTimeMilliseconds());
                break;
        }
        record.Status = kind;
        result.Stats.Add(new StatIncrement(record.RuleId, record.Variant, kind));
        return true;
    }

    /// <summary>A rule's conversion event within its window converts the intervention, or the held-out ghost.</summary>
    private void AttributeConversions(UserState state, ClickEvent e, long ts, Evaluation result)
    {
        foreach (var record in state.Interventions ?? [])
        {
            if (record.Converted != true && record.ConvertUntil >= ts && record.At <= ts
                && Rules.Find(record.RuleId)?.Conversion?.Event == e.Key)
            {
                record.Converted = true;
                result.Stats.Add(new StatIncrement(record.RuleId, record.Variant, "converted"));
                CancelEscalationsOf(state, record.Id); // a conversion is a response: the user did what was asked
            }
        }
    }

    /// <summary>Week-1 retention by sign-up day: signed up, and active again 1–7 days later.</summary>
    private static void CountCohorts(UserState state, ClickEvent e, Evaluation result)
    {
        if (state.SignedUpAt is not { } signedUp)
        {
            return;
        }
        static string Cohort(long signedUp) =>
            DateTimeOffset.FromUnixTimeMilliseconds(signedUp).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        if (e.Key == EventNames.SignedUp && e.Timestamp.ToUnixTimeMilliseconds() == signedUp)
        {
            result.Stats.Add(new StatIncrement("", Cohort(signedUp), "signed_up"));
            return;
        }
        var days = (e.Timestamp - DateTimeOffset.FromUnixTimeMilliseconds(signedUp)).TotalDays;
        if (!state.RetainedWeek1 && days >= 1 && days < 8)
        {
            state.RetainedWeek1 = true;
            result.Stats.Add(new StatIncrement("", Cohort(signedUp), "retained_w1"));
        }
    }

    private InterventionCommand Build(UserState state, Candidate c, TriggerInfo trigger, string id, string channel, DateTimeOffset deliverAfter,
        DateTimeOffset now, string variant, MessageSpec? variantMessage, ClickEvent? e)
    {
        var action = c.Rule.Action;
        // The same paths as the conditions saw: a template's {{event.*}} is the triggering event.
        var context = new ValueContext(state, Rules, now, e, c.Details, c.Rule);
        string? Lookup(string path) => ValuePaths.Resolve(path, context);
        var m = variantMessage ?? action.Message;
        var labels = Rules.Labels;
        var message = new InterventionMessage(
            MessageTemplate.Render(m.Title, Lookup, labels),
            MessageTemplate.Render(m.Body, Lookup, labels),
            m.ActionLabel is null ? null : new MessageAction(MessageTemplate.Render(m.ActionLabel, Lookup, labels),
                m.ActionUrl is null ? null : MessageTemplate.RenderUrl(m.ActionUrl, Lookup, labels)));
        return new InterventionCommand
        {
            InterventionId = id,
            UserId = state.UserId,
            RuleId = c.Rule.Id,
            RuleVersion = Rules.Version,
            Moment = action.Moment,
            Channel = channel,
            Priority = action.Priority,
            Message = message,
            DeliverAfter = deliverAfter,
            ExpiresAt = deliverAfter + action.Expiry,
            Trigger = trigger,
            User = new UserSummary(UserProfile.LifecycleStage(state, now), UserProfile.Archetype(state, now), state.Device, state.Timezone,
                UserProfile.Segment(state, now)),
            Intent = action.Intent ?? DerivedIntent(c.Rule, e),
            Variant = variant,
            Experiment = c.Rule.Experiment?.Name,
            DecidedAt = now,
        };
    }

    /// <summary>
    /// A rule without an intent of its own serves the intent of what triggered it: the event, or for a timer the
    /// event its trigger watches (an escalation: the escalated rule's). Never null.
    /// </summary>
    private string DerivedIntent(Rule rule, ClickEvent? e)
    {
        if (e is not null)
        {
            return UserProfile.Intent(e);
        }
        // Escalations may chain; the bound only guards against a cycle of them.
        for (var depth = 0; depth < 8; depth++)
        {
            var t = rule.Trigger;
            if (t.Kind != TriggerKind.Escalation || Rules.Find(t.Rule!) is not { } escalated)
            {
                return t.Kind == TriggerKind.Dwell ? "go" : t.Event is { } key ? UserProfile.IntentOf(key, isView: false) : "do";
            }
            if (escalated.Action.Intent is { } intent)
            {
                return intent;
            }
            rule = escalated;
        }
        return "do";
    }

    /// <summary>
    /// An emitted intervention arms the escalation rules that watch its rule. The timer keeps the trigger's details, so
    /// the next-level nudge can name what the first one was about (<c>{{trigger.cartId}}</c>).
    /// </summary>
    private void ArmEscalations(UserState state, Rule emitted, InterventionCommand command, DateTimeOffset now, Evaluation result)
    {
        foreach (var rule in Rules.Rules.Where(r => r.Trigger.Kind == TriggerKind.Escalation && r.Trigger.Rule == emitted.Id))
        {
            var details = StoredDetails(command.Trigger.Details, result);
            details["ruleId"] = emitted.Id;
            details["interventionId"] = command.InterventionId;
            result.Evicted += Timers.Arm(state, $"{rule.Id}|{emitted.Id}", rule.Id, (now + rule.Trigger.Duration).ToUnixTimeMilliseconds(),
                command.InterventionId, details, _options.Limits.MaxTimers);
        }
    }

    private void CancelEscalationsOf(UserState state, string interventionId)
    {
        foreach (var timer in state.Timers?.ToList() ?? [])
        {
            if (timer.ArmedBy == interventionId && Rules.Find(timer.RuleId)?.Trigger.Kind == TriggerKind.Escalation)
            {
                Timers.Cancel(state, timer.Id);
            }
        }
    }

    /// <summary>A response to an intervention (click, dismissal, conversion) stops its escalation.</summary>
    private void CancelEscalations(UserState state, ClickEvent e)
    {
        if (state.Timers is null)
        {
            return;
        }
        var ruleId = e.Property("ruleId");
        var interventionId = e.Property("interventionId");
        foreach (var timer in state.Timers.ToList())
        {
            if (Rules.Find(timer.RuleId)?.Trigger.Kind == TriggerKind.Escalation
                && ((ruleId is not null && timer.Details?.GetValueOrDefault("ruleId") == ruleId)
                    || (interventionId is not null && timer.ArmedBy == interventionId)))
            {
                Timers.Cancel(state, timer.Id);
            }
        }
    }

    /// <summary>Adds the event to its window; when the window reaches the rule's count, returns the hits and starts over.</summary>
    private static List<WindowHit>? CountHit(UserState state, Rule rule, ClickEvent e, long ts)
    {
        var t = rule.Trigger;
        var key = t.Per is null ? rule.Id : $"{rule.Id}|{e.Property(t.Per)}";
        state.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
        if (!state.Windows.TryGetValue(key, out var hits))
        {
            state.Windows[key] = hits = [];
        }
        RemoveUpTo(hits, ts - (long)t.Duration.TotalMilliseconds);
        hits.Add(new WindowHit(ts, e.MessageId));
        if (hits.Count < t.Times)
        {
            return null;
        }
        state.Windows.Remove(key);
        return hits;
    }

    /// <summary>Drops the hits at or before <paramref name="from"/>, keeping the others in order.</summary>
    private static void RemoveUpTo(List<WindowHit> hits, long from)
    {
        var kept = 0;
        for (var i = 0; i < hits.Count; i++)
        {
            if (hits[i].At > from)
            {
                hits[kept++] = hits[i];
            }
        }
        hits.RemoveRange(kept, hits.Count - kept);
    }

    private void PruneWindows(UserState state, long nowMs)
    {
        if (state.Windows is not { Count: > 0 } windows)
        {
            state.Windows = null;
            return;
        }
        List<string>? empty = null;
        foreach (var (key, hits) in windows)
        {
            var bar = key.IndexOf('|', StringComparison.Ordinal);
            var window = Rules.Find(bar < 0 ? key.AsSpan() : key.AsSpan(0, bar))?.Trigger.Duration ?? TimeSpan.Zero;
            RemoveUpTo(hits, nowMs - (long)window.TotalMilliseconds);
            if (hits.Count == 0)
            {
                (empty ??= []).Add(key);
            }
        }
        foreach (var key in empty ?? [])
        {
            windows.Remove(key);
        }
        if (windows.Count == 0)
        {
            state.Windows = null;
        }
    }

    /// <summary>An event's properties as trigger details: matched by <see cref="PropertyNames"/>, numbers and booleans kept as such.</summary>
    private static Dictionary<string, object> Details(ClickEvent e)
    {
        var d = new Dictionary<string, object>(e.Properties.Count + 2, PropertyNames.Comparer);
        foreach (var (k, v) in e.Properties)
        {
            d[k] = e.PropertyValue(k, v);
        }
        return d;
    }

    /// <summary>A timer's stored details as trigger details (see <see cref="LiteralsKey"/>).</summary>
    private static Dictionary<string, object> Details(IReadOnlyDictionary<string, string>? stored)
    {
        var d = new Dictionary<string, object>(PropertyNames.Comparer);
        if (stored is null)
        {
            return d;
        }
        var literals = stored.GetValueOrDefault(LiteralsKey)?.Split('\n');
        foreach (var (k, v) in stored)
        {
            if (k != LiteralsKey)
            {
                d[k] = literals is not null && literals.Contains(k, StringComparer.Ordinal) && JsonLiteral.TryCreate(v) is { } literal ? literal : v;
            }
        }
        return d;
    }

    /// <summary>The candidates whose rule's <c>when</c> conditions hold, each seen with its own trigger details.</summary>
    private static List<Candidate> Holding(IEnumerable<Candidate> candidates, ValueContext context) =>
        candidates.Where(c => ConditionEvaluator.AllHold(c.Rule.Conditions, context with { Details = c.Details, Rule = c.Rule })).ToList();

    private sealed record Candidate(Rule Rule, string Kind, IReadOnlyList<string> EventIds, Dictionary<string, object> Details, string TriggerKey);
}
