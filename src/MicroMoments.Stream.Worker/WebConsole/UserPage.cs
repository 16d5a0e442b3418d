using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>The user page: why a user did or did not get a nudge, from what <c>explain</c> reads.</summary>
public static class UserPage
{
    public static string Render(string userId, IReadOnlyList<UserRecord> records, RuleSet rules, DateTimeOffset now) =>
        ConsoleLayout.Page($"user {userId}", userId, h =>
        {
            h.Add($"<h1>User <code id=\"user\">{userId}</code></h1>");
            if (records.Count == 0)
            {
                h.Add($"<p class=\"warn\" id=\"not-found\">No state in Redis for this user: never seen, or expired after the state's time to live.</p>");
                return;
            }
            if (records.Count > 1)
            {
                h.Add($"<p class=\"warn\">This user has {records.Count} separate states, on shards {string.Join(", ", records.Select(r => r.Shard))}: the producers put the user on several partitions, so caps, cooldowns and history do not hold across them.</p>");
            }
            foreach (var record in records)
            {
                Shard(h, record, rules, now);
            }
        });

    private static void Shard(Html h, UserRecord record, RuleSet rules, DateTimeOffset now)
    {
        var s = record.State;
        var zone = s.Timezone;
        var decisions = record.Decisions.Select(DecisionLine.Parse).ToList();
        h.Add($"<section class=\"shard\" data-shard=\"{record.Shard}\">");
        if (record.Unreadable is { } unreadable)
        {
            h.Add($"<p class=\"warn\" id=\"state-unreadable\">{unreadable.Describe(now)}</p>");
        }
        h.Add($"<h2>Derived values <span class=\"muted\">(shard {record.Shard})</span></h2><dl class=\"facts\" id=\"derived\">");
        Fact(h, "lifecycle stage", UserProfile.LifecycleStage(s, now));
        Fact(h, "segment", UserProfile.Segment(s, now));
        Fact(h, "archetype", UserProfile.Archetype(s, now));
        Fact(h, "engagement score", UserProfile.EngagementScore(s, now).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Fact(h, "streak", $"{UserProfile.Streak(s, now)} days");
        Fact(h, "first seen", ConsoleTime.Text(s.FirstSeenAt, zone));
        Fact(h, "last event", ConsoleTime.Text(s.LastEventAt, zone));
        Fact(h, "last feature", s.LastFeature ?? "-");
        Fact(h, "device, time zone", $"{s.Device ?? "-"}, {s.Timezone ?? "-"}");
        Fact(h, "onboarding", s.OnboardingCompleted ? "completed" : s.OnboardingTotal > 0 ? $"step {s.OnboardingStep} of {s.OnboardingTotal}" : "-");
        h.Add($"</dl>");

        h.Add($"<h2>Decisions: why and why not</h2>");
        if (decisions.Count == 0)
        {
            h.Add($"<p class=\"muted\">No decision kept: no rule matched in the decisions' retention.</p>");
        }
        else
        {
            h.Add($"<table id=\"decisions\"><thead><tr><th>at</th><th>rule</th><th>outcome</th><th>held back by</th><th>trigger: the events behind it</th><th>rules version</th><th>intervention</th></tr></thead><tbody>");
            foreach (var d in decisions)
            {
                // Treated as open strings: an outcome or reason added later shows as it is.
                var gate = d.Outcome == Outcomes.Emitted ? "" : d.Reason ?? "";
                h.Add($"<tr class=\"decision\" data-rule=\"{d.RuleId}\" data-outcome=\"{d.Outcome}\" data-reason=\"{d.Reason}\"><td>{At(d, zone)}</td><td>{d.RuleId}</td><td>{ConsoleLayout.Badge(d.Outcome)}</td>");
                h.Add($"<td class=\"gate\">{gate}<span class=\"muted\">{(d.Delivery is null ? "" : " · " + d.Delivery)}</span></td><td class=\"trigger\" title=\"{(d.EventIds.Count > 0 ? "event ids: " + string.Join(", ", d.EventIds) : "")}\">{TriggerText.Describe(d, rules)}</td><td>{d.RuleVersion}</td><td><code>{d.InterventionId}</code></td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        var nearMisses = (s.Windows ?? []).Select(w => (Key: w.Key, Progress: TriggerText.Progress(w.Key, w.Value, rules, now, zone)))
            .Where(w => w.Progress is not null).OrderBy(w => w.Key, StringComparer.Ordinal).ToList();
        if (nearMisses.Count > 0)
        {
            h.Add($"<h2>Near misses: count triggers part way</h2><table id=\"near-misses\"><thead><tr><th>rule</th><th>counting</th><th>progress</th></tr></thead><tbody>");
            foreach (var (key, progress) in nearMisses)
            {
                h.Add($"<tr data-rule=\"{TriggerText.RuleOf(key)}\"><td>{TriggerText.RuleOf(key)}</td><td>{TriggerText.Counted(key, rules)}</td><td class=\"progress\">{progress}</td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        h.Add($"<h2>Pending timers</h2>");
        if (s.Timers is not { Count: > 0 } timers)
        {
            h.Add($"<p class=\"muted\">None.</p>");
        }
        else
        {
            h.Add($"<table id=\"timers\"><thead><tr><th>rule</th><th>due</th><th>in</th><th>armed by</th></tr></thead><tbody>");
            foreach (var t in timers.OrderBy(t => t.DueAt))
            {
                var idle = t.Id == RuleEngine.IdleTimerId;
                var due = DateTimeOffset.FromUnixTimeMilliseconds(t.DueAt);
                var label = idle ? "(inactivity rules)" : t.RuleId;
                var gone = !idle && rules.Find(t.RuleId) is null ? " (rule no longer loaded)" : "";
                h.Add($"<tr><td>{label}{gone}</td><td>{ConsoleTime.Element(due, zone)}</td><td>{Until(due - now)}</td><td>{t.ArmedBy}</td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        // Commands already sent whose deliverAfter is ahead: what a cancelOn event or a pause would still withdraw.
        if (s.PendingDeliveries is { Count: > 0 } waiting)
        {
            h.Add($"<h2>Sent, waiting for their delivery time</h2><table id=\"pending-deliveries\"><thead><tr><th>rule</th><th>deliver after</th><th>in</th><th>withdrawn by</th><th>intervention</th></tr></thead><tbody>");
            foreach (var p in waiting.OrderBy(p => p.DeliverAfter))
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(p.DeliverAfter);
                var cancelOn = rules.Find(p.RuleId) is { } rule ? string.Join(", ", DeliveryCancellation.CancelOn(rule)) : "";
                var withdrawnBy = (cancelOn.Length > 0 ? cancelOn + (p.Per is null ? "" : $" ({p.Per})") + ", " : "") + "a pause";
                h.Add($"<tr><td>{p.RuleId}</td><td>{ConsoleTime.Element(at, zone)}</td><td>{Until(at - now)}</td><td>{withdrawnBy}</td><td><code>{p.InterventionId}</code></td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        var pauses = UserLookup.PausesInForce(s, rules, now);
        if (pauses.Count > 0)
        {
            h.Add($"<h2>Pauses in force</h2><table id=\"pauses\"><thead><tr><th>rule</th><th>why</th><th>until</th></tr></thead><tbody>");
            foreach (var (rule, reason, until) in pauses)
            {
                h.Add($"<tr><td>{(rule.Length == 0 ? "(all rules)" : rule)}</td><td class=\"gate\">{reason}</td><td>{ConsoleTime.Element(until, zone)}</td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        h.Add($"<h2>Commands and feedback</h2>");
        if (s.Interventions is not { Count: > 0 } interventions)
        {
            h.Add($"<p class=\"muted\">No command kept.</p>");
        }
        else
        {
            var experiments = interventions.Any(r => UserTimeline.VariantSuffix(r, rules).Length > 0);
            h.Add($"<table id=\"feedback\"><thead><tr><th>sent</th><th>rule</th>{new Markup(experiments ? "<th>variant</th>" : "")}<th>state and feedback</th><th>intervention</th></tr></thead><tbody>");
            foreach (var r in Enumerable.Reverse(interventions))
            {
                var (state, text) = UserTimeline.CommandState(r, decisions, s, zone);
                var variant = UserTimeline.VariantSuffix(r, rules).Length > 0 ? r.Variant : "-";
                h.Add($"<tr data-status=\"{state}\"><td>{ConsoleTime.Element(r.At, zone)}</td><td>{r.RuleId}</td>{(experiments ? new Markup($"<td>{Html.Text(variant)}</td>") : new Markup(""))}");
                h.Add($"<td>{(state is Outcomes.Cancelled or Outcomes.Deferred ? ConsoleLayout.Badge(state) : new Markup(""))} {text}</td><td><code>{r.Id}</code></td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        if (s.Traits is { Count: > 0 } || s.Attributes is { Count: > 0 })
        {
            h.Add($"<h2>Traits</h2><table id=\"traits\"><tbody>");
            foreach (var (k, v) in (s.Traits ?? []).Concat(s.Attributes ?? []))
            {
                h.Add($"<tr><th>{k}</th><td>{v}</td></tr>");
            }
            h.Add($"</tbody></table>");
        }

        var timeline = UserTimeline.Build(record, decisions, rules);
        h.Add($"<h2>Timeline</h2><p class=\"muted\">What the worker keeps of this user, newest first: the events the state still names, decisions, commands, feedback (at the time of the command) and pending timers.</p>");
        SvgCharts.TimelineStrip(h, timeline, UserTimeline.Kinds);
        h.Add($"<ol class=\"timeline\" id=\"timeline\">");
        foreach (var e in timeline)
        {
            h.Add($"<li class=\"k-{e.Kind}\">{ConsoleTime.Element(e.At, zone)}<span class=\"kind\">{e.Kind}</span>{e.Title}<span class=\"muted\">{(e.Detail is null ? "" : " · " + e.Detail)}</span></li>");
        }
        h.Add($"</ol></section>");
    }

    private static void Fact(Html h, string name, string value) => h.Add($"<dt>{name}</dt><dd>{value}</dd>");

    private static Markup At(DecisionLine d, string? zone) =>
        DateTimeOffset.TryParse(d.At, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? ConsoleTime.Element(at, zone) : Html.Text(d.At);

    private static string Until(TimeSpan t) => t <= TimeSpan.Zero ? "due now" : ConsoleTime.Span(t);
}
