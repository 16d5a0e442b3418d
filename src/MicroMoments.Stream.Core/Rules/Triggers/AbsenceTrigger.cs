using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules.Where;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: absence</c>: <see cref="TriggerSpec.Event"/> not followed by <see cref="Missing"/> within
/// <see cref="TriggerSpec.Duration"/>. The event arms a timer (one <see cref="Per"/> property value), the follow-up cancels it.
/// </summary>
public sealed class AbsenceTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor =
        new(TriggerKind.Absence, ["kind", "event", "missing", "within", "per", "where"], firesOnTimer: true, Parse);

    private AbsenceTrigger() : base(Descriptor)
    {
    }

    /// <summary>The normalised event that must follow.</summary>
    public string? Missing { get; private init; }

    /// <summary>Keep a separate timer per value of this event property.</summary>
    public string? Per { get; private init; }

    private static AbsenceTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var evt = ReadEvent(r, t);
        var missing = r.String(t, "missing") is { } b ? EventNames.Normalize(b) : null;
        var within = r.Duration(t, "within", required: true);
        if (evt is null || missing is null)
        {
            r.Error(t, $"rule '{id}': an absence trigger needs 'event' and 'missing'");
        }
        return new AbsenceTrigger { Event = evt, Missing = missing, Duration = within, Per = r.String(t, "per"), Where = WhereReader.Read(r, t, id) };
    }

    internal override IEnumerable<string> IndexKeys => new[] { Event, Missing }.OfType<string>();

    internal override bool Concerns(string? key) => key is not null && (Event == key || Missing == key);

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        var e = on.Event;
        if (e.Key == Missing)
        {
            var id = TimerId(rule, e);
            if (!on.EventTime)
            {
                Timers.Cancel(on.State, id);
                return;
            }
            // In event time it satisfies a start stamped at or before it (one that arrives later too, hence the note);
            // a start stamped after it is not followed by it.
            if (on.State.Timers?.Find(t => t.Id == id) is { } timer && timer.DueAt - DurationMs <= on.Timestamp)
            {
                Timers.Cancel(on.State, id);
            }
            EventTimeTail.MissingSeen(on.State, id, on.Timestamp);
        }
        else if (Matches(e, on.State) && Per is not null && e.Property(Per)?.Length > on.Limits.MaxStringLength)
        {
            on.Result.IgnoredValues++; // the value would become a timer id in state: like any long value, it is not kept
        }
        else if (Matches(e, on.State) && Arms(ref on, TimerId(rule, e)))
        {
            on.Result.Evicted += Timers.Arm(on.State, TimerId(rule, e), rule.Id, on.Timestamp + DurationMs, e.MessageId,
                TriggerDetails.Store(e, on.Limits, on.Result), on.Limits.MaxTimers);
        }
    }

    private long DurationMs => (long)Duration.TotalMilliseconds;

    /// <summary>
    /// Whether a start event arms its timer. In event time: never when late; not when its <c>missing</c> event was already
    /// seen stamped within <c>within</c> after it (it arrived first); and a reordered start does not replace the timer of
    /// a start stamped after it, which timestamp order would have kept.
    /// </summary>
    private bool Arms(ref TriggerEvent on, string id)
    {
        if (!on.EventTime)
        {
            return true;
        }
        if (on.Arrival == Arrival.Late || EventTimeTail.MissingSeenIn(on.State, id, on.Timestamp, on.Timestamp + DurationMs))
        {
            return false;
        }
        var ts = on.Timestamp;
        return on.Arrival == Arrival.InOrder || on.State.Timers?.Exists(t => t.Id == id && t.DueAt - DurationMs > ts) != true;
    }

    internal override void OnFire(Dictionary<string, object> details) => details["within"] = Durations.ToIso(Duration);

    private string TimerId(Rule rule, ClickEvent e) => Per is null ? rule.Id : $"{rule.Id}|{e.Property(Per) ?? ""}";
}
