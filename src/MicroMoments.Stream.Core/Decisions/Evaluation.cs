using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// What applying one event (or firing a user's due timers) produced. Its lists are made on first use: most events produce
/// nothing, and an evaluation is made for every event.
/// </summary>
public sealed class Evaluation
{
    /// <summary>A record applied before: a new one each time, as its lists are made on first read (a shared one would be written by every thread that read it).</summary>
    public static Evaluation Duplicate => new() { Applied = false };
    private List<FeedbackRecord>? _feedback;
    private List<StatIncrement>? _stats;
    private List<State.WaitingDelivery>? _awaiting;
    private List<InterventionCancellation>? _cancellations;
    private List<Decision>? _decisions;
    private List<InterventionCommand>? _interventions;

    /// <summary>Empties the evaluation for the next step, keeping its lists' room (<see cref="RuleEngine.Apply(State.UserState, Events.ClickEvent, Events.RecordSource, DateTimeOffset, Evaluation)"/>).</summary>
    internal void Reset()
    {
        _feedback?.Clear();
        _stats?.Clear();
        _awaiting?.Clear();
        _cancellations?.Clear();
        _decisions?.Clear();
        _interventions?.Clear();
        Failure = null;
        (ForeignFeedback, RepeatedFeedback, LateEvents, IgnoredValues, Evicted, Trimmed) = (0, 0, 0, 0, 0, 0);
    }

    /// <summary>False when the record had been applied before (a redelivery): nothing changed.</summary>
    public bool Applied { get; init; } = true;

    public List<InterventionCommand> Interventions => _interventions ??= [];

    /// <summary><see cref="Interventions"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<InterventionCommand> InterventionsSoFar => CollectionsMarshal.AsSpan(_interventions);

    public List<Decision> Decisions => _decisions ??= [];

    /// <summary><see cref="Decisions"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<Decision> DecisionsSoFar => CollectionsMarshal.AsSpan(_decisions);

    /// <summary>Commands sent earlier and withdrawn now; they go out before this evaluation's <see cref="Interventions"/>.</summary>
    public List<InterventionCancellation> Cancellations => _cancellations ??= [];

    /// <summary><see cref="Cancellations"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<InterventionCancellation> CancellationsSoFar => CollectionsMarshal.AsSpan(_cancellations);

    /// <summary>
    /// Entries this step put to await a delivery minute on a rate-limited channel (<see cref="State.WaitingDelivery.Awaiting"/>), in
    /// order: the pace stage asks the ledger for them after the batch is decided, and settles them.
    /// </summary>
    public List<State.WaitingDelivery> Awaiting => _awaiting ??= [];

    /// <summary><see cref="Awaiting"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<State.WaitingDelivery> AwaitingSoFar => CollectionsMarshal.AsSpan(_awaiting);

    /// <summary>
    /// A timer step a rule threw in: what was due and not yet decided is dropped (it would throw again at every check), and what
    /// the step decided before the throw stands, as every other user's results do. Null when nothing threw.
    /// </summary>
    public Exception? Failure { get; set; }

    /// <summary>Counter increments for response analytics: (rule, variant, metric).</summary>
    public List<StatIncrement> Stats => _stats ??= [];

    /// <summary><see cref="Stats"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<StatIncrement> StatsSoFar => CollectionsMarshal.AsSpan(_stats);

    /// <summary>Responses counted in <see cref="Stats"/> (delivered, displayed, clicked, dismissed, converted), per intervention.</summary>
    public List<FeedbackRecord> Feedback => _feedback ??= [];

    /// <summary><see cref="Feedback"/> without making the list when there is none (the batch reads every step's lists).</summary>
    internal ReadOnlySpan<FeedbackRecord> FeedbackSoFar => CollectionsMarshal.AsSpan(_feedback);

    /// <summary>Feedback that named an intervention this user was never sent: counted and ignored.</summary>
    public int ForeignFeedback { get; set; }

    /// <summary>Feedback of a type already counted for its intervention (a double tap): in no counter, changes nothing.</summary>
    public int RepeatedFeedback { get; set; }

    /// <summary>Events stamped earlier than the user's latest by more than the allowed lateness: applied to state, never triggering.</summary>
    public int LateEvents { get; set; }

    /// <summary>Values not kept (over a state bound, or an implausible duration); the event applied otherwise.</summary>
    public int IgnoredValues { get; set; }

    /// <summary>Least recently used traits, features or tasks evicted at their count bound.</summary>
    public int Evicted { get; set; }

    /// <summary>Entries of old history trimmed to keep the state under its byte bound.</summary>
    public int Trimmed { get; set; }
}

/// <summary>One analytics counter increment. Rule "" with a cohort day as variant is a cohort counter.</summary>
public readonly record struct StatIncrement(string RuleId, string Variant, string Metric)
{
    /// <summary>
    /// Adds <paramref name="delta"/> (one, or a correction such as -1) to this counter in <paramref name="counters"/>: rule id →
    /// "variant|metric" → count, the layout kept in Redis. A field that comes to zero goes: no zero field for the store to write.
    /// </summary>
    public void AddTo(Dictionary<string, Dictionary<string, long>> counters, long delta = 1)
    {
        if (!counters.TryGetValue(RuleId, out var fields))
        {
            counters[RuleId] = fields = new Dictionary<string, long>(StringComparer.Ordinal);
        }
        var field = $"{Variant}|{Metric}";
        var value = fields.GetValueOrDefault(field) + delta;
        if (value == 0)
        {
            fields.Remove(field);
        }
        else
        {
            fields[field] = value;
        }
    }
}
