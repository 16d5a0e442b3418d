using System.Diagnostics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// What one batch (or one timer check) produced: commands, decisions, dead letters and the users to save. The stages only
/// append to it, through its methods (parse and load dead-letter, decide and pace add evaluations, decide marks users to
/// save); what a stage added is read-only to every later stage, so none edits another's output (docs/pipeline.md).
/// </summary>
public sealed class BatchWork
{
    private readonly List<(string Shard, InterventionCommand Command, ActivityContext Parent)> _interventions = [];
    private readonly List<(string Shard, Decision Decision)> _decisions = [];
    private readonly List<(string Shard, InterventionCancellation Cancellation, ActivityContext Parent, int Before)> _cancellations = [];
    private readonly List<RejectedRecord> _deadLetters = [];
    private readonly List<FeedbackRecord> _feedback = [];
    private readonly List<(string Shard, WaitingDelivery Entry, ActivityContext Parent)> _awaiting = [];
    private readonly List<UnreadableState> _quarantined = [];
    private readonly Dictionary<(string Topic, string Outcome), int> _outcomes = [];

    public Dictionary<string, Dictionary<string, UserState>> Dirty { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, HashSet<string>> NewUsers { get; } = new(StringComparer.Ordinal);
    public IReadOnlyList<(string Shard, InterventionCommand Command, ActivityContext Parent)> Interventions => _interventions;
    public IReadOnlyList<(string Shard, Decision Decision)> Decisions => _decisions;

    /// <summary>Cancellations, each going out just before the command at <c>Before</c> in <see cref="Interventions"/> (or after all).</summary>
    public IReadOnlyList<(string Shard, InterventionCancellation Cancellation, ActivityContext Parent, int Before)> Cancellations => _cancellations;
    public IReadOnlyList<RejectedRecord> DeadLetters => _deadLetters;

    /// <summary>The responses the engine counted (delivered, clicked, …, converted), in the order it counted them.</summary>
    public IReadOnlyList<FeedbackRecord> Feedback => _feedback;

    /// <summary>
    /// The schedule entries the batch's steps put to await a delivery minute, in batch order, with the shard and trace of the
    /// step: the pace stage asks for the minutes of those still in a schedule, and settles them (<see cref="PaceStage"/>).
    /// </summary>
    public IReadOnlyList<(string Shard, WaitingDelivery Entry, ActivityContext Parent)> Awaiting => _awaiting;

    /// <summary>Whether an evaluation added to the batch put <paramref name="entry"/> to await its minute.</summary>
    public bool PutToAwait(WaitingDelivery entry) => _awaiting.Exists(a => ReferenceEquals(a.Entry, entry));

    /// <summary>The previous users named by the batch's alias calls, as the load stage found them.</summary>
    public AliasedUsers Aliases { get; } = new();
    /// <summary>Records per (topic, outcome): applied, duplicate, dead_lettered.</summary>
    public IReadOnlyDictionary<(string Topic, string Outcome), int> Outcomes => _outcomes;

    public void Count(string topic, string outcome, int n = 1)
    {
        if (n > 0)
        {
            _outcomes[(topic, outcome)] = _outcomes.GetValueOrDefault((topic, outcome)) + n;
        }
    }
    /// <summary>Sends a record to the dead-letter topic instead of the rules.</summary>
    public RejectedRecord Reject(string shard, SourceRecord record, string reason, string message)
    {
        var rejected = new RejectedRecord(shard, record, reason, message);
        Count(record.Topic, "dead_lettered");
        _deadLetters.Add(rejected);
        return rejected;
    }

    /// <summary>The stored states this batch could not read: each user started fresh, and each went to the dead letters.</summary>
    public IReadOnlyList<UnreadableState> Quarantined => _quarantined;

    /// <summary>Dead-letters an unreadable state as <c>state_unreadable</c>: a record of the user's partition, with no offset.</summary>
    public void Quarantine(UnreadableState bad)
    {
        _quarantined.Add(bad);
        var colon = bad.Shard.LastIndexOf(':');
        var (topic, partition) = colon > 0 && int.TryParse(bad.Shard.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var p)
            ? (bad.Shard[..colon], p) : (bad.Shard, -1);
        var source = new SourceRecord(topic, partition, -1, bad.At.UtcDateTime, System.Text.Encoding.UTF8.GetBytes(bad.UserId), bad.Raw);
        _deadLetters.Add(new RejectedRecord(bad.Shard, source, Events.RejectReasons.StateUnreadable,
            $"the state under {bad.Key} cannot be read ({bad.Error}); its bytes are kept under {bad.QuarantineKey} and the user starts fresh"));
    }

    public int ForeignFeedback { get; set; }

    public int RepeatedFeedback { get; set; }

    /// <summary>Events later than the allowed lateness: applied to state, never triggering (<see cref="Evaluation.LateEvents"/>).</summary>
    public int LateEvents { get; set; }

    /// <summary>State bounds at work: values ignored, entries evicted, old history trimmed (<see cref="Evaluation"/>).</summary>
    public (int Ignored, int Evicted, int Trimmed) Bounded { get; set; }

    /// <summary>Analytics increments per shard: shard → rule id ("" = cohorts) → "variant|metric" → count.</summary>
    public Dictionary<string, Dictionary<string, Dictionary<string, long>>> Counters { get; } = new(StringComparer.Ordinal);

    public void MarkDirty(string shard, UserState state)
    {
        if (!Dirty.TryGetValue(shard, out var users))
        {
            Dirty[shard] = users = new Dictionary<string, UserState>(StringComparer.Ordinal);
        }
        users[state.UserId] = state;
    }

    public void MarkNew(string shard, string userId)
    {
        if (!NewUsers.TryGetValue(shard, out var users))
        {
            NewUsers[shard] = users = new HashSet<string>(StringComparer.Ordinal);
        }
        users.Add(userId);
    }

    public void Add(string shard, Evaluation evaluation, ActivityContext parent)
    {
        ForeignFeedback += evaluation.ForeignFeedback;
        RepeatedFeedback += evaluation.RepeatedFeedback;
        LateEvents += evaluation.LateEvents;
        if (evaluation.IgnoredValues + evaluation.Evicted + evaluation.Trimmed > 0)
        {
            Bounded = (Bounded.Ignored + evaluation.IgnoredValues, Bounded.Evicted + evaluation.Evicted, Bounded.Trimmed + evaluation.Trimmed);
        }
        if (evaluation.StatsSoFar.Length > 0)
        {
            var rules = CountersOf(shard);
            foreach (var stat in evaluation.StatsSoFar)
            {
                stat.AddTo(rules);
            }
        }
        foreach (var x in evaluation.CancellationsSoFar)
        {
            _cancellations.Add((shard, x, parent, _interventions.Count));
        }
        foreach (var c in evaluation.InterventionsSoFar)
        {
            _interventions.Add((shard, c, parent));
        }
        foreach (var d in evaluation.DecisionsSoFar)
        {
            _decisions.Add((shard, d));
        }
        foreach (var w in evaluation.AwaitingSoFar)
        {
            _awaiting.Add((shard, w, parent));
        }
        foreach (var f in evaluation.FeedbackSoFar)
        {
            _feedback.Add(f);
        }
    }

    /// <summary>
    /// The batch's commands and cancellations in the order they go out: each cancellation just before the command at its
    /// <c>Before</c>, in the order the engine decided them, so a user's cancellation never overtakes the command it withdraws.
    /// </summary>
    public IEnumerable<BatchMessage> Messages()
    {
        var cancelled = 0;
        for (var i = 0; i <= Interventions.Count; i++)
        {
            for (; cancelled < Cancellations.Count && (i == Interventions.Count || Cancellations[cancelled].Before <= i); cancelled++)
            {
                var (shard, cancellation, parent, _) = Cancellations[cancelled];
                yield return new BatchMessage(shard, null, cancellation, parent);
            }
            if (i < Interventions.Count)
            {
                var (shard, command, parent) = Interventions[i];
                yield return new BatchMessage(shard, command, null, parent);
            }
        }
    }

    /// <summary>The shard's analytics counters (rule id → "variant|metric" → count), created on first use.</summary>
    public Dictionary<string, Dictionary<string, long>> CountersOf(string shard)
    {
        if (!Counters.TryGetValue(shard, out var rules))
        {
            Counters[shard] = rules = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        }
        return rules;
    }
}

/// <summary>One message of a batch for the interventions topic: a command or a cancellation, with the shard and trace it comes from.</summary>
public readonly record struct BatchMessage(string Shard, InterventionCommand? Command, InterventionCancellation? Cancellation, ActivityContext Parent);
