using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Applies events to a user's state and decides interventions. Pure: no I/O and no clock of its own;
/// the caller passes the time, so the worker, <c>simulate</c> and the tests run the same logic.
/// </summary>
public sealed partial class RuleEngine
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

    /// <summary>The timer every inactivity rule shares (<see cref="IdleTimer"/>).</summary>
    public const string IdleTimerId = InactivityTrigger.IdleTimerId;

    private readonly EngineOptions _options;
    private readonly PolicyGate _gate;
    private readonly IdleTimer _idle;
    private readonly EventRuleIndex _index;
    private readonly HashSet<string> _conversionEvents;
    private readonly DeliveryCancellation _cancellation;
    private readonly LastSeenRecord _lastSeen;

    public RuleEngine(RuleSet rules, EngineOptions? options = null, PopulationBaseline? population = null)
    {
        Rules = rules;
        _options = options ?? new EngineOptions();
        _gate = new PolicyGate(rules);
        Population = population ?? new PopulationBaseline(_options.Limits.MaxPopulationTasks);
        _idle = new IdleTimer(rules.Rules);
        _index = new EventRuleIndex(rules.Rules);
        _cancellation = new DeliveryCancellation(rules);
        _lastSeen = new LastSeenRecord(rules);
        _conversionEvents = rules.Rules.Where(r => r.Conversion is not null).Select(r => r.Conversion!.Event).ToHashSet(StringComparer.Ordinal);
    }

    public RuleSet Rules { get; }

    /// <summary>Population statistics shared by every user this engine sees (kept across rule reloads by the caller).</summary>
    public PopulationBaseline Population { get; }

    /// <summary>
    /// Applies one event. A record at or below the user's watermark for its partition (a redelivery), or
    /// with a recently seen messageId (an upstream duplicate), changes nothing.
    /// </summary>
    public Evaluation Apply(UserState state, ClickEvent e, RecordSource source, DateTimeOffset now) => Apply(state, e, source, now, null);

    /// <summary>
    /// <see cref="Apply(UserState, ClickEvent, RecordSource, DateTimeOffset)"/> into <paramref name="reuse"/> when given (emptied
    /// by the caller, whose previous result was read already): the decide stage keeps one for its batch, as most events
    /// produce nothing.
    /// </summary>
    internal Evaluation Apply(UserState state, ClickEvent e, RecordSource source, DateTimeOffset now, Evaluation? reuse)
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

        var result = reuse ?? new Evaluation();
        if (DeliveryReports.Contains(e.Key))
        {
            return RecordFeedback(state, e, result).Applies ? ApplyDeliveryReport(state, e, now, result) : result;
        }
        var response = Responses.Contains(e.Key) ? RecordFeedback(state, e, result) : default;
        if (response.Verdict is FeedbackVerdict.Foreign or FeedbackVerdict.Repeat)
        {
            // Nothing the user did to anything of ours: no activity, no trigger, no cancellation. Else a forged click would
            // arm a follow-up, and a double tap would fire one twice.
            return result;
        }

        // Only the rules this event's name can concern, in file order (the order timers are armed in).
        var rules = _index.For(e.Key);
        var ts = e.Timestamp.ToUnixTimeMilliseconds();
        var latest = state.LastEventAt;
        var arrival = EventOrder.Classify(latest, ts, Rules.LatenessMs);

        // Thresholds fire when a metric enters its range, so read the metrics as they stood at the user's
        // previous event too (a score that decayed below a line since then has crossed it).
        var previous = state.LastEventAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(state.LastEventAt) : e.Timestamp;
        Span<double?> before = rules.Metrics == 0 ? default : rules.Rules.Length <= 64 ? stackalloc double?[rules.Rules.Length] : new double?[rules.Rules.Length];
        if (rules.Metrics > 0 && arrival != Arrival.Late)
        {
            for (var i = 0; i < rules.Rules.Length; i++)
            {
                if (rules.Rules[i].Trigger.Metric is { } metric)
                {
                    before[i] = Metrics.Read(metric, state, e, null, previous);
                }
            }
        }
        var observation = UserProfile.Observe(state, e, Population, _options.Limits, eventTime: Rules.LatenessMs > 0);
        result.IgnoredValues += observation.Ignored;
        result.Evicted += observation.Evicted;
        if (e.Key.Length > _options.Limits.MaxStringLength)
        {
            result.IgnoredValues++; // like any long name, not kept in state: a did of it cannot hold
        }
        else
        {
            result.Evicted += _lastSeen.Observe(state, e, ts);
        }
        if (response.Applies)
        {
            EscalationTrigger.CancelOnResponse(Rules, state, response.RuleId!, response.InterventionId);
        }
        if (_conversionEvents.Contains(e.Key))
        {
            AttributeConversions(state, e, ts, result);
        }
        RetentionCounting.Observe(state, e, result);

        _cancellation.OnEvent(state, e, now, result);
        var on = new TriggerEvent(state, e, ts, observation, result, _options.Limits) { Arrival = arrival, Latest = latest, LatenessMs = Rules.LatenessMs };
        for (var i = 0; i < rules.Rules.Length; i++)
        {
            var rule = rules.Rules[i];
            rule.Trigger.OnEvent(rule, ref on, rules.Metrics == 0 ? null : before[i]);
        }
        // In event time the windows keep what a hit stamped up to the lateness before the latest event still counts with.
        CountTrigger.PruneWindows(state, Rules, on.EventTime ? on.LatestAfter - on.LatenessMs : ts);
        EventTimeTail.Prune(state, on.LatestAfter - on.LatenessMs);
        if (arrival == Arrival.InOrder)
        {
            // The idle stretch counts from the latest event, and is named by it: a reordered event changes neither.
            _idle.Restart(state, e.MessageId);
        }

        var candidates = on.Candidates;
        if (arrival == Arrival.Late)
        {
            RecordLate(state, e, rules.Rules, candidates, now, result);
        }
        else if (candidates is not null)
        {
            Decide(state, Holding(candidates, new ValueContext(state, Rules, e.Timestamp, e) { Segments = _options.Segments }), e.Timestamp, now, result, e);
        }
        if (on.Retractions is { } retractions)
        {
            foreach (var (_, interventionId) in retractions)
            {
                // Timestamp order would not have sent it: a command still ahead of its deliverAfter is withdrawn.
                _cancellation.Withdraw(state, interventionId, CancelReasons.LateEvent, now, e, result);
            }
        }
        _cancellation.AfterDecisions(state, now, e, result);
        Bound(state, result);
        return result;
    }

    /// <summary>
    /// After an applied <c>alias</c>: merges the previous id's state into the user's (<see cref="UserMerge"/>) and
    /// returns the tombstone that replaces the previous id's state; or, when that state is not an anonymous one
    /// (<see cref="UserMerge.Refusal"/>), changes nothing and says why.
    /// </summary>
    public AliasMerge MergeAlias(UserState into, UserState from, DateTimeOffset? now = null)
    {
        if (UserMerge.Refusal(from) is { } refused)
        {
            return new AliasMerge(null, refused);
        }
        var followUps = MergeWaiting(into, from, now ?? DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(into.LastEventAt, from.LastEventAt)));
        var tombstone = UserMerge.Merge(into, from, _options.Limits);
        StateBounds.Enforce(into, _options.Limits);
        return new AliasMerge(tombstone, UserMerge.Merged, followUps);
    }

    /// <summary>
    /// The anonymous user's waiting entries join the identified user's schedule as any entry is placed there: where the rule
    /// already waits, the identified user's stays and the other is <c>superseded</c>; past the bound the one that leaves gets
    /// <c>schedule_full</c>. Entries awaiting their minute are left to the section merge, which moves them all.
    /// </summary>
    private Evaluation? MergeWaiting(UserState into, UserState from, DateTimeOffset now)
    {
        if (from.Waiting is not { } waiting || waiting.TrueForAll(w => w.Awaiting is not null))
        {
            return null;
        }
        var result = new Evaluation();
        foreach (var w in waiting.FindAll(w => w.Awaiting is null))
        {
            DeliverySchedule.Remove(from, w);
            w.UserId ??= from.UserId;
            if (DeliverySchedule.Of(into, w.RuleId) is not null)
            {
                DeliverySchedule.FollowUp(Rules, into, w, Outcomes.Suppressed, Reasons.Superseded, now, result);
                continue;
            }
            into.ReindexTimers = true;
            if (DeliverySchedule.Add(into, w) is { } leaving)
            {
                DeliverySchedule.FollowUp(Rules, into, leaving, Outcomes.Suppressed, Reasons.ScheduleFull, now, result);
            }
        }
        return result;
    }

    /// <summary>Keeps the state's bounds after an event or a timer: the user's own history gives way, never another user's.</summary>
    private void Bound(UserState state, Evaluation result)
    {
        var (evicted, trimmed) = StateBounds.Enforce(state, _options.Limits);
        result.Evicted += evicted;
        result.Trimmed += trimmed;
    }

    /// <summary>A delivery report updates no activity, session or timer; only rules on that very event can fire.</summary>
    private Evaluation ApplyDeliveryReport(UserState state, ClickEvent e, DateTimeOffset now, Evaluation result)
    {
        var candidates = Rules.Rules
            .Where(r => r.Trigger is EventTrigger t && t.Matches(e, state))
            .Select(r => EventTrigger.Fired(r, e));
        Decide(state, Holding(candidates, new ValueContext(state, Rules, e.Timestamp, e) { Segments = _options.Segments }), e.Timestamp, now, result, e);
        return result;
    }

    /// <summary>
    /// Wakes the user's waiting deliveries whose slot has come, then fires every timer of the user that is due at
    /// <paramref name="now"/>. Timers armed by the same event and due together are one trigger (the highest priority goes
    /// first); conditions are checked at firing time.
    /// </summary>
    public Evaluation FireDue(UserState state, DateTimeOffset now)
    {
        var result = new Evaluation();
        try
        {
            FireDue(state, now, result);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // What this step decided before the throw stands (its commands are in the state's sent log); the rest of what was
            // due is dropped, or it would throw again at every check.
            result.Failure = ex;
            DropDue(state, now);
            return result;
        }
        _cancellation.AfterDecisions(state, now, null, result);
        Bound(state, result);
        return result;
    }

    private void FireDue(UserState state, DateTimeOffset now, Evaluation result)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        // The schedule's waiting entries first: they were decided before anything this step fires.
        WakeWaiting(state, now, result);
        var groups = new List<(long DueAt, string ArmedBy, List<(Rule Rule, string TimerId, Dictionary<string, string>? Details)> Rules)>();
        foreach (var g in Timers.TakeDue(state, nowMs).GroupBy(t => (t.DueAt, t.ArmedBy)))
        {
            var rules = new List<(Rule, string, Dictionary<string, string>?)>();
            foreach (var timer in g)
            {
                if (timer.Id == IdleTimerId)
                {
                    _idle.Fire(state, timer, nowMs, groups);
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
                var details = TriggerDetails.Restore(t.Details);
                t.Rule.Trigger.OnFire(details);
                return new Candidate(t.Rule, t.Rule.Trigger.Name, [armedBy], details, $"{t.TimerId}@{due}/{armedBy}");
            });
            Decide(state, Holding(candidates, new ValueContext(state, Rules, dueAt) { Segments = _options.Segments }), dueAt, now, result, null);
        }
    }

    /// <summary>
    /// One step's candidates, highest priority first (then rule id): each is proposed, planned against the user's schedule as
    /// the candidates before it left it, and recorded. <paramref name="e"/>: the triggering event; null for a timer.
    /// </summary>
    private void Decide(UserState state, List<Candidate> candidates, DateTimeOffset triggerAt, DateTimeOffset now, Evaluation result, ClickEvent? e)
    {
        if (candidates.Count == 0)
        {
            return;
        }
        var stale = _options.CheckStaleness && now - triggerAt > _options.MaxTriggerAge;
        // The slot of the last candidate placed for this trigger: a lower-priority one goes no earlier than the spacing after it.
        long? lastSlot = null;
        var control = GlobalControl.Contains(state.UserId, Rules.GlobalControl);
        // Highest priority first, then rule id; stable, as one rule's timers due together keep their order. The list is
        // Holding's own, and a step has a few candidates: an insertion sort, with no comparer or iterator allocated.
        for (var i = 1; i < candidates.Count; i++)
        {
            for (var j = i; j > 0 && DecisionOrder(candidates[j - 1], candidates[j]) > 0; j--)
            {
                (candidates[j - 1], candidates[j]) = (candidates[j], candidates[j - 1]);
            }
        }
        foreach (var c in candidates)
        {
            var proposal = Propose(state, c, control);
            var plan = Plan(state, proposal, now, stale, lastSlot + (long)DeliverySchedule.CollisionSpacing.TotalMilliseconds);
            if (plan.Kind != PlanKind.Suppress)
            {
                lastSlot = plan.Slot;
            }
            var decided = result.Decisions.Count;
            Record(state, proposal, plan, triggerAt, now, result, e);
            if (proposal.NewArm)
            {
                MarkAssigned(state, proposal, decided, now, result);
            }
        }
    }

    /// <summary>
    /// A bandit's new assignment: counted for the arm's share over time, and marked on the decision that records it (a decisions
    /// file counts it from there), or, for a candidate awaiting a rate-limit minute, on its wait, whose decision comes later.
    /// </summary>
    private static void MarkAssigned(UserState state, Proposal p, int decided, DateTimeOffset now, Evaluation result)
    {
        result.Stats.Add(ArmAllocator.Assigned(p.Rule.Id, p.Variant, now));
        // Record may add other entries' follow-ups first (superseded, schedule_full): the proposal's own is the one with its id.
        var own = result.Decisions.FindIndex(decided, d => d.InterventionId == p.Id && !d.FollowUp);
        if (own >= 0)
        {
            result.Decisions[own] = result.Decisions[own] with { Assigned = true };
        }
        else if (state.Waiting?.FindLast(w => w.InterventionId == p.Id && w.Awaiting is not null) is { Awaiting: { } wait } entry)
        {
            entry.Awaiting = wait with { Assigned = true };
        }
    }

    /// <summary>Produces a command: counted at its delivery time, remembered, its escalation armed, tracked for cancellation.</summary>
    private void Produce(UserState state, Rule rule, InterventionCommand command, DateTimeOffset triggerAt, DateTimeOffset now, Evaluation result)
    {
        _gate.Record(state, rule, command.Channel, command.DeliverAfter, now);
        Remember(state, rule, command.InterventionId, command.Variant, triggerAt, ghost: false);
        EscalationTrigger.Arm(Rules, state, rule, command, now, _options.Limits, result);
        result.Interventions.Add(command);
        DeliveryCancellation.Track(state, rule, command, now, _options.Limits);
    }

    /// <summary>
    /// An event stamped earlier than the user's latest by more than the allowed lateness updated state only: each rule it
    /// would have fired, or whose trigger names it, is recorded as suppressed with reason <c>late_event</c>, and it is counted.
    /// </summary>
    private void RecordLate(UserState state, ClickEvent e, Rule[] rules, List<Candidate>? candidates, DateTimeOffset now, Evaluation result)
    {
        result.LateEvents++;
        var control = GlobalControl.Contains(state.UserId, Rules.GlobalControl);
        foreach (var rule in rules)
        {
            var c = candidates?.Find(x => ReferenceEquals(x.Rule, rule));
            if (c is null && !rule.Trigger.Matches(e, state))
            {
                continue;
            }
            var trigger = c is null ? new TriggerInfo(rule.Trigger.Name, [e.MessageId], TriggerDetails.Of(e)) : new TriggerInfo(c.Kind, c.EventIds, c.Details);
            var id = InterventionIds.Create(state.UserId, rule.Id, c?.TriggerKey ?? e.MessageId);
            var variant = control ? GlobalControl.Variant
                : rule.Experiment is { } experiment ? ArmAllocator.Peek(state, experiment) : "control";
            result.Stats.Add(new StatIncrement(rule.Id, variant, "matched"));
            result.Stats.Add(new StatIncrement(rule.Id, variant, "suppressed." + Reasons.LateEvent));
            result.Decisions.Add(new Decision(state.UserId, rule.Id, Rules.Version, Outcomes.Suppressed, Reasons.LateEvent, id, now, trigger)
            {
                Variant = control || rule.Experiment is not null ? variant : null,
            });
        }
    }

    /// <summary>
    /// Feedback naming an intervention no longer remembered is foreign (docs/guarantees.md, "Feedback counting"), so keep at least
    /// two days of the default catalogue's daily limit (8 per 24 h): a late click on an early nudge of a busy day still counts.
    /// About 30 bytes each.
    /// </summary>
    internal const int RememberedInterventions = 16;

    /// <summary>How long an intervention is remembered after its trigger (longer while its conversion window is open).</summary>
    internal static readonly TimeSpan RecordRetention = TimeSpan.FromDays(7);

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

    /// <summary>What a delivery report or response was to the engine (<see cref="RecordFeedback"/>).</summary>
    private enum FeedbackVerdict
    {
        /// <summary>Not feedback.</summary>
        None,

        /// <summary>The first of its type for an intervention this user was sent: counted.</summary>
        Counted,

        /// <summary>A type already counted for that intervention (a double tap, a repeated report): changes nothing.</summary>
        Repeat,

        /// <summary>Names only a rule this user was sent an intervention of: a response to that rule, counted in no rate.</summary>
        RuleOnly,

        /// <summary>Names an intervention (or rule) this user was never sent, or no longer remembers: counted as foreign, changes nothing.</summary>
        Foreign,
    }

    /// <summary>A feedback verdict and, when it applies, the rule (and intervention) it answers.</summary>
    private readonly record struct FeedbackOutcome(FeedbackVerdict Verdict, string? RuleId = null, string? InterventionId = null)
    {
        /// <summary>The feedback answers something this user was sent: its responses stop escalations and it may fire rules.</summary>
        public bool Applies => Verdict is FeedbackVerdict.Counted or FeedbackVerdict.RuleOnly;
    }

    /// <summary>
    /// Applies a delivery report or response to the intervention it names, once per (intervention, type): a repeat counts
    /// nothing, so every rate, the dismissal pause and the decisions file see one click however many taps were reported.
    /// An id this user was never sent (or a ghost's, or one paired with another rule's id) is foreign: counted, and otherwise
    /// ignored. Feedback naming only a <c>ruleId</c> keeps its documented meaning (docs/rules.md): a response to that rule,
    /// when this user was sent an intervention of it.
    /// </summary>
    private FeedbackOutcome RecordFeedback(UserState state, ClickEvent e, Evaluation result)
    {
        var id = e.Property("interventionId");
        var ruleId = e.Property("ruleId");
        if (string.IsNullOrEmpty(id))
        {
            // No intervention to count it once for, so no rate counts it; the rule still has to be one this user got.
            if (!string.IsNullOrEmpty(ruleId) && state.Interventions?.Exists(r => r.RuleId == ruleId && r.Ghost != true) == true)
            {
                return new FeedbackOutcome(FeedbackVerdict.RuleOnly, ruleId);
            }
            result.ForeignFeedback++;
            return new FeedbackOutcome(FeedbackVerdict.Foreign);
        }
        var record = state.Interventions?.Find(r => r.Id == id && r.Ghost != true);
        if (record is null || (!string.IsNullOrEmpty(ruleId) && ruleId != record.RuleId))
        {
            result.ForeignFeedback++;
            return new FeedbackOutcome(FeedbackVerdict.Foreign);
        }
        var name = e.Key["intervention ".Length..];
        var kind = FeedbackKindNames.Parse(name);
        if (record.HasCounted(kind))
        {
            result.RepeatedFeedback++;
            return new FeedbackOutcome(FeedbackVerdict.Repeat);
        }
        if (kind == FeedbackKinds.Converted)
        {
            record.Converted = true;
        }
        else
        {
            record.Counted |= kind;
            if (!record.HasCounted(FeedbackKinds.Clicked | FeedbackKinds.Dismissed) || kind is FeedbackKinds.Clicked or FeedbackKinds.Dismissed)
            {
                // A late delivery report after a click must not make the intervention read as unanswered (auto-pause) or
                // show as only delivered: the status keeps the user's response once there is one.
                record.Status = name;
            }
            if (kind == FeedbackKinds.Dismissed)
            {
                _gate.Dismissed(state, Rules.Find(record.RuleId), record.RuleId, e.Timestamp.ToUnixTimeMilliseconds());
            }
        }
        Responded(state, record, name, e.Timestamp, result);
        return new FeedbackOutcome(FeedbackVerdict.Counted, record.RuleId, record.Id);
    }

    /// <summary>Counts a response to an intervention (or ghost), and records it for the decisions file.</summary>
    private static void Responded(UserState state, InterventionRecord record, string kind, DateTimeOffset at, Evaluation result)
    {
        result.Stats.Add(new StatIncrement(record.RuleId, record.Variant, kind));
        result.Feedback.Add(new FeedbackRecord(state.UserId, record.RuleId, record.Variant, kind, record.Id, at));
    }

    /// <summary>A rule's conversion event within its window converts the intervention, or the held-out ghost.</summary>
    private void AttributeConversions(UserState state, ClickEvent e, long ts, Evaluation result)
    {
        if (state.Interventions is not { } records)
        {
            return;
        }
        foreach (var record in records)
        {
            if (record.Converted != true && record.ConvertUntil >= ts && record.At <= ts
                && Rules.Find(record.RuleId)?.Conversion?.Event == e.Key)
            {
                record.Converted = true;
                Responded(state, record, "converted", e.Timestamp, result);
                EscalationTrigger.CancelFor(Rules, state, record.Id);
            }
        }
    }

    private InterventionCommand Build(UserState state, Candidate c, TriggerInfo trigger, string id, string channel, DateTimeOffset deliverAfter,
        DateTimeOffset now, string variant, Rule delivered, ClickEvent? e)
    {
        var action = delivered.Action;
        // The same paths as the conditions saw: a template's {{event.*}} is the triggering event.
        var context = new ValueContext(state, Rules, now, e, c.Details, c.Rule) { Segments = _options.Segments };
        string? Lookup(string path) => ValuePaths.Resolve(path, context);
        var m = action.Message;
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
    private string DerivedIntent(Rule rule, ClickEvent? e) => e is not null ? UserProfile.Intent(e) : rule.Trigger.FiredIntent(Rules, 0);

    /// <summary>
    /// The candidates whose rule's <c>when</c> conditions hold, each seen with its own trigger details. A rule without
    /// conditions holds without a context of its own: on the event path that is most of them, so no copy is made.
    /// </summary>
    private static List<Candidate> Holding(IEnumerable<Candidate> candidates, ValueContext context)
    {
        var holding = new List<Candidate>(candidates is ICollection<Candidate> known ? known.Count : 4);
        foreach (var c in candidates)
        {
            if (c.Rule.Conditions.Count == 0 || ConditionEvaluator.AllHold(c.Rule.Conditions, context with { Details = c.Details, Rule = c.Rule }))
            {
                holding.Add(c);
            }
        }
        return holding;
    }

    /// <summary>The order candidates of one step are decided in: highest priority first, then rule id (positive: b goes first).</summary>
    private static int DecisionOrder(Candidate a, Candidate b)
    {
        var byPriority = b.Rule.Action.Priority.CompareTo(a.Rule.Action.Priority);
        return byPriority != 0 ? byPriority : string.CompareOrdinal(a.Rule.Id, b.Rule.Id);
    }
}
