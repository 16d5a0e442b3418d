using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>One line of a user's timeline. Kind: event, decision, command, feedback or timer (a pending one, at its due time).</summary>
public sealed record TimelineEntry(DateTimeOffset At, string Kind, string RuleId, string Title, string? Detail);

/// <summary>
/// A user's timeline from what the worker keeps (it stores no raw events): the events the state still names (first
/// seen, sign-up, session start, the last event, the hits count triggers hold, the events that triggered a decision),
/// the recent decisions, the commands sent and their feedback, and the pending timers. All bounded by the state's
/// limits and the 50 kept decisions, however many events the user sent.
/// </summary>
public static class UserTimeline
{
    /// <summary>The timeline's kinds, in the strip's row order: a deferred or cancelled decision is a state of its own.</summary>
    public static readonly string[] Kinds = ["event", "decision", "deferred", "cancelled", "command", "feedback", "timer"];

    public static List<TimelineEntry> Build(UserRecord record, IReadOnlyList<DecisionLine> decisions, RuleSet rules)
    {
        var s = record.State;
        var entries = new List<TimelineEntry>();
        static DateTimeOffset T(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
        if (s.FirstSeenAt > 0)
        {
            entries.Add(new(T(s.FirstSeenAt), "event", "", "first event seen", null));
        }
        if (s.SignedUpAt is { } signedUp)
        {
            entries.Add(new(T(signedUp), "event", "", "signed up", null));
        }
        if (s.SessionStartedAt > 0)
        {
            entries.Add(new(T(s.SessionStartedAt), "event", "", "session started", null));
        }
        if (s.LastEventAt > 0)
        {
            entries.Add(new(T(s.LastEventAt), "event", "", "last event", s.LastFeature is { } f ? $"last feature used: {f}" : null));
        }
        foreach (var (key, hits) in s.Windows ?? [])
        {
            var rule = TriggerText.RuleOf(key);
            for (var i = 0; i < hits.Count; i++)
            {
                entries.Add(new(T(hits[i].At), "event", rule, TriggerText.Counted(key, rules), $"hit {i + 1} of the count towards {rule}"));
            }
        }
        foreach (var d in decisions)
        {
            var at = DateTimeOffset.TryParse(d.At, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var a) ? a : DateTimeOffset.MinValue;
            var kind = d.Outcome is Outcomes.Deferred or Outcomes.Cancelled ? d.Outcome : "decision";
            var why = d.Outcome == Outcomes.Emitted ? "" : d.Reason is { } r ? $" ({r})" : "";
            entries.Add(new(at, kind, d.RuleId, $"{d.RuleId}: {d.Outcome}{why}", TriggerText.Describe(d, rules)));
        }
        foreach (var x in s.Sent ?? [])
        {
            entries.Add(new(T(x.At), "command", x.RuleId, $"{x.RuleId} sent via {x.Channel}", $"category {x.Category}"));
        }
        foreach (var r in s.Interventions ?? [])
        {
            var (_, text) = CommandState(r, decisions, s, s.Timezone);
            entries.Add(new(T(r.At), "feedback", r.RuleId, $"{r.RuleId}{VariantSuffix(r, rules)}: {text}", null));
        }
        foreach (var t in s.Timers ?? [])
        {
            var idle = t.Id == RuleEngine.IdleTimerId;
            entries.Add(new(T(t.DueAt), "timer", idle ? "" : t.RuleId, idle ? "inactivity timer due" : $"{t.RuleId} timer due", $"armed by {t.ArmedBy}"));
        }
        entries.Sort((a, b) => b.At.CompareTo(a.At));
        return entries;
    }

    /// <summary>
    /// What became of a command, as a state and its text: "cancelled" (a cancelled decision names it), "deferred" (waiting for
    /// its delivery time), else the latest report ("sent" while none came).
    /// </summary>
    public static (string State, string Text) CommandState(InterventionRecord r, IReadOnlyList<DecisionLine> decisions, UserState s, string? zone)
    {
        if (decisions.FirstOrDefault(d => d.Outcome == Outcomes.Cancelled && d.InterventionId == r.Id) is { } cancelled)
        {
            return (Outcomes.Cancelled, $"cancelled{(cancelled.Reason is { } why ? $" ({why})" : "")}, never shown");
        }
        if (s.PendingDeliveries?.FirstOrDefault(p => p.InterventionId == r.Id) is { } waiting)
        {
            return (Outcomes.Deferred, $"deferred: delivered after {ConsoleTime.Text(waiting.DeliverAfter, zone)}");
        }
        return (r.Ghost == true ? Outcomes.HeldOut : r.Status ?? "sent", Feedback(r));
    }

    /// <summary>" (variant)" for a rule with an experiment; nothing for one without, where every command is "control".</summary>
    public static string VariantSuffix(InterventionRecord r, RuleSet rules) =>
        rules.Find(r.RuleId)?.Experiment is not null || r.Variant != "control" ? $" ({r.Variant})" : "";

    /// <summary>What became of a command: the latest report, "converted" when a conversion was attributed, "held out" for a ghost.</summary>
    public static string Feedback(InterventionRecord r) =>
        (r.Ghost == true ? "held out (nothing sent)" : r.Status ?? "sent, no report yet") + (r.Converted == true ? ", converted" : "");
}
