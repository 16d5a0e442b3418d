using MicroMoments.Stream.Core.Decisions;
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
    public static List<TimelineEntry> Build(UserRecord record, IReadOnlyList<DecisionLine> decisions)
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
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, hits) in s.Windows ?? [])
        {
            foreach (var hit in hits)
            {
                named.Add(hit.EventId);
                entries.Add(new(T(hit.At), "event", RuleOf(key), $"event {hit.EventId}", $"counted by {key}"));
            }
        }
        foreach (var d in decisions)
        {
            var at = DateTimeOffset.TryParse(d.At, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var a) ? a : DateTimeOffset.MinValue;
            var why = d.Outcome == Outcomes.Emitted ? "" : d.Reason is { } r ? $", stopped by {r}" : "";
            entries.Add(new(at, "decision", d.RuleId, $"{d.RuleId}: {d.Outcome}{why}",
                $"trigger {d.TriggerKind ?? "?"}{(d.EventIds.Count > 0 ? " on " + string.Join(", ", d.EventIds.Where(named.Add)) : "")}"));
        }
        foreach (var x in s.Sent ?? [])
        {
            entries.Add(new(T(x.At), "command", x.RuleId, $"{x.RuleId} sent via {x.Channel}", $"category {x.Category}"));
        }
        foreach (var r in s.Interventions ?? [])
        {
            entries.Add(new(T(r.At), "feedback", r.RuleId, $"{r.RuleId} ({r.Variant}): {Feedback(r)}", $"intervention {r.Id}"));
        }
        foreach (var t in s.Timers ?? [])
        {
            var idle = t.Id == RuleEngine.IdleTimerId;
            entries.Add(new(T(t.DueAt), "timer", idle ? "" : t.RuleId, idle ? "inactivity timer due" : $"{t.RuleId} timer due", $"armed by {t.ArmedBy}"));
        }
        entries.Sort((a, b) => b.At.CompareTo(a.At));
        return entries;
    }

    /// <summary>What became of a command: the latest report, "converted" when a conversion was attributed, "held out" for a ghost.</summary>
    public static string Feedback(InterventionRecord r) =>
        (r.Ghost == true ? "held out (nothing sent)" : r.Status ?? "sent, no report yet") + (r.Converted == true ? ", converted" : "");

    // A count trigger's window key is "<rule id>" or "<rule id>|<property value>".
    private static string RuleOf(string windowKey) => windowKey.Split('|', 2)[0];
}
