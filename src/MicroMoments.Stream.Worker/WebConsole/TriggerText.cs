using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>
/// Triggers and near misses in the words of the events behind them. A decision stores its trigger's kind, the message ids of
/// the events and their details (a count's <c>count</c> and <c>window</c>, the last event's properties); the event name
/// comes from the loaded rule, so a rule no longer loaded shows its kind only.
/// </summary>
public static class TriggerText
{
    /// <summary>How many of the last event's properties a trigger line names.</summary>
    private const int KeyProperties = 3;

    /// <summary>E.g. "3 × Task Failed · task = notifications-setup · within 10 min"; a cancellation names the event that withdrew it.</summary>
    public static string Describe(DecisionLine d, RuleSet rules)
    {
        var rule = rules.Find(d.RuleId);
        var details = d.Details.Where(p => p.Key is not ("count" or "window") && !p.Key.StartsWith('~')).Take(KeyProperties)
            .Select(p => $"{p.Key} = {p.Value}").ToList();
        string head;
        if (d.Outcome == Outcomes.Cancelled)
        {
            var by = rule is null ? [] : DeliveryCancellation.CancelOn(rule);
            head = d.TriggerKind == "event" && by.Count > 0 ? $"withdrawn by {string.Join(" or ", by.Select(EventName))}" : $"withdrawn ({d.Reason ?? d.TriggerKind})";
        }
        else if (d.TriggerKind == "count" || rule?.Trigger is CountTrigger)
        {
            var count = d.Details.FirstOrDefault(p => p.Key == "count").Value ?? d.EventIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            head = $"{count} × {EventName(rule?.Trigger.Event)}";
            if (rule is not null)
            {
                details.Add($"within {ConsoleTime.Span(rule.Trigger.Duration)}");
            }
        }
        else
        {
            var name = rule?.Trigger.Event is { } key ? EventName(key) : null;
            head = d.TriggerKind is null or "event" ? name ?? "event" : name is null ? d.TriggerKind : $"{d.TriggerKind} · {name}";
        }
        return string.Join(" · ", details.Prepend(head));
    }

    /// <summary>
    /// A count trigger's window part way, e.g. "2 of 3 within 10 min; the window closes at 10:14": the hits still inside the
    /// window at <paramref name="now"/>, and when the oldest leaves it. Null when no hit is inside the window any more.
    /// </summary>
    public static string? Progress(string windowKey, IReadOnlyList<WindowHit> hits, RuleSet rules, DateTimeOffset now, string? zone)
    {
        var rule = rules.Find(RuleOf(windowKey));
        if (rule?.Trigger is not CountTrigger count)
        {
            return hits.Count == 0 ? null : $"{hits.Count} counted{(rule is null ? " (rule no longer loaded)" : "")}";
        }
        var windowMs = (long)count.Duration.TotalMilliseconds;
        var live = hits.Where(h => h.At + windowMs > now.ToUnixTimeMilliseconds()).OrderBy(h => h.At).ToList();
        if (live.Count == 0)
        {
            return null;
        }
        var closes = DateTimeOffset.FromUnixTimeMilliseconds(live[0].At + windowMs);
        return $"{live.Count} of {count.Times} within {ConsoleTime.Span(count.Duration)}; the window closes at {ConsoleTime.Text(closes, zone)}";
    }

    /// <summary>The event a count window counts, with the <c>per</c> value of a window kept per value.</summary>
    public static string Counted(string windowKey, RuleSet rules)
    {
        var rule = rules.Find(RuleOf(windowKey));
        var per = windowKey.Split('|', 2) is [_, var value] && rule?.Trigger is CountTrigger { Per: { } name } ? $" · {name} = {value}" : "";
        return EventName(rule?.Trigger.Event) + per;
    }

    /// <summary>
    /// An event key as people write it: rules hold names normalised (lower case, one space; names match case-insensitively),
    /// so "task failed" shows as "Task Failed", the Segment spelling the docs use.
    /// </summary>
    public static string EventName(string? key) => key is null ? "event"
        : string.Join(' ', key.Split(' ').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    // A count trigger's window key is "<rule id>" or "<rule id>|<property value>".
    public static string RuleOf(string windowKey) => windowKey.Split('|', 2)[0];
}
