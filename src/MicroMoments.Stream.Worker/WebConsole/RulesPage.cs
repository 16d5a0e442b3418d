using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>What the rules page shows about the loaded rules file.</summary>
public sealed record RulesStatus(RuleSet Rules, string Path, DateTimeOffset LoadedAt, int FailedReloads);

/// <summary>The rules page: each rule's health from the analytics counters (the same ones <c>report</c> reads).</summary>
public static class RulesPage
{
    public static string Render(RulesStatus status, Report report, DateTimeOffset now) =>
        ConsoleLayout.Page("rules", null, h =>
        {
            h.Add($"<h1>Rules</h1><dl class=\"facts\" id=\"rules-version\"><dt>version</dt><dd>{status.Rules.Version}</dd>");
            h.Add($"<dt>loaded</dt><dd>{ConsoleTime.Element(status.LoadedAt)} <span class=\"muted\">({Ago(now - status.LoadedAt)} ago)</span></dd>");
            h.Add($"<dt>file</dt><dd>{status.Path}</dd><dt>rules</dt><dd>{status.Rules.Rules.Count}</dd>");
            h.Add($"<dt>rejected reloads</dt><dd>{status.FailedReloads}</dd></dl>");
            Rules(h, status.Rules, report);
            Experiments(h, report);
        });

    private static void Rules(Html h, RuleSet rules, Report report)
    {
        var triggers = report.Triggers.ToDictionary(t => t.RuleId, StringComparer.Ordinal);
        var byRule = report.Variants.GroupBy(v => v.Counts.RuleId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        // Loaded rules first, in file order; then rules that only the counters still know (removed or renamed since).
        var ids = rules.Rules.Select(r => r.Id).Concat(report.Triggers.Select(t => t.RuleId).Where(id => rules.Find(id) is null)).ToList();
        h.Add($"<h2>Health by rule</h2><p class=\"muted\">Counted since the counters began, over every instance. A click, dismissal or conversion counts once per intervention, however often it was reported. Click-through and dismissals over delivered (over sent while no delivery is reported), conversions over sent; 95 % Wilson intervals. Cancelled: commands sent (emitted or deferred) and withdrawn before their delivery time, by a cancelOn event or a pause; they count in emitted or deferred too, and the bar shows them apart.</p>");
        h.Add($"<table id=\"rules\"><thead><tr><th>rule</th><th>trigger</th><th>matched</th><th>share</th><th>outcomes</th><th>last 48 h</th><th>emitted</th><th>deferred</th><th>cancelled</th><th>held out</th><th>suppressed by reason</th><th>click-through</th><th>conversion</th></tr></thead><tbody>");
        foreach (var id in ids)
        {
            var rule = rules.Find(id);
            var t = triggers.GetValueOrDefault(id);
            var counts = (byRule.GetValueOrDefault(id) ?? []).Select(v => v.Counts).ToList();
            long Sum(Func<VariantCounts, long> f) => counts.Sum(f);
            var suppressed = counts.SelectMany(c => c.Suppressed).GroupBy(s => s.Key, StringComparer.Ordinal)
                .Select(g => (Reason: g.Key, Count: g.Sum(x => x.Value))).OrderByDescending(s => s.Count).ThenBy(s => s.Reason, StringComparer.Ordinal).ToList();
            // As the report: the rule's holdout and the global control group's ghosts are not treated.
            var treated = counts.Where(c => c.Variant is not (ExperimentAssignment.HoldoutVariant or GlobalControl.Variant)).ToList();
            var ctr = RateInterval.Of(treated.Sum(c => c.Clicked), treated.Sum(c => c.Exposed));
            var conversion = RateInterval.Of(treated.Sum(c => c.Converted), treated.Sum(c => c.Emitted + c.Deferred));
            h.Add($"<tr data-rule=\"{id}\"><td>{id}{(rule is null ? " (not loaded)" : "")}</td><td>{rule?.Trigger.Info.Name}</td><td class=\"n\">{t?.Matched ?? 0}</td><td class=\"n\">{Percent(t?.Share)}</td><td>");
            // A cancelled command was emitted or deferred first: the bar takes it out of those so each part is a final state.
            var cancelled = Sum(c => c.Cancelled);
            var deferredLeft = Math.Max(0, Sum(c => c.Deferred) - cancelled);
            var emittedLeft = Math.Max(0, Sum(c => c.Emitted) - Math.Max(0, cancelled - Sum(c => c.Deferred)));
            var parts = new List<(string, string, long)> { ("emitted", "emitted", emittedLeft), ("deferred", "deferred", deferredLeft), ("cancelled", "cancelled", cancelled), ("held out", "held_out", Sum(c => c.HeldOut)) };
            parts.AddRange(suppressed.Select(s => ($"suppressed: {s.Reason}", "suppressed", s.Count)));
            SvgCharts.StackedBar(h, parts);
            h.Add($"</td><td class=\"hourly\">");
            SvgCharts.HourlyLines(h, report.Hourly.GetValueOrDefault(id));
            h.Add($"</td><td class=\"n\">{Sum(c => c.Emitted)}</td><td class=\"n\">{Sum(c => c.Deferred)}</td><td class=\"n cancelled\">{cancelled}</td><td class=\"n\">{Sum(c => c.HeldOut)}</td><td class=\"suppressed\">");
            foreach (var (reason, count) in suppressed)
            {
                h.Add($"<span class=\"gate\">{reason}</span> {count}<br>");
            }
            h.Add($"</td><td class=\"rate\">{RateText(ctr)}</td><td class=\"rate\">{RateText(conversion)}</td></tr>");
        }
        h.Add($"</tbody></table>");
    }

    private static void Experiments(Html h, Report report)
    {
        var rules = report.Variants.GroupBy(v => v.Counts.RuleId, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
        h.Add($"<h2>Experiments: variants against control</h2>");
        if (rules.Count == 0)
        {
            h.Add($"<p class=\"muted\">No rule has more than one arm with counts yet.</p>");
            return;
        }
        foreach (var g in rules)
        {
            h.Add($"<section class=\"experiment\" data-rule=\"{g.Key}\"><h3>{g.Key}</h3><table><thead><tr><th>variant</th><th>sent</th><th>held out</th><th>click-through</th><th>conversion</th><th>conversion vs control</th><th>conversion vs holdout</th></tr></thead><tbody>");
            var arms = g.ToDictionary(v => v.Counts.Variant, v => v.Counts, StringComparer.Ordinal);
            long Sample(string variant) => arms.TryGetValue(variant, out var c) ? c.Treated : 0;
            foreach (var v in g)
            {
                var c = v.Counts;
                var enough = (Control: Math.Min(c.Treated, Sample("control")), Holdout: Math.Min(c.Treated, Sample(ExperimentAssignment.HoldoutVariant)));
                h.Add($"<tr data-variant=\"{c.Variant}\"><td>{c.Variant}</td><td class=\"n\">{c.Emitted + c.Deferred}</td><td class=\"n\">{c.HeldOut}</td><td class=\"rate\">{RateText(RateInterval.Of(c.Clicked, c.Exposed))}</td>");
                h.Add($"<td class=\"rate\">{RateText(RateInterval.Of(c.Converted, c.Treated))}</td><td class=\"rate\">{ComparisonText(v.ConversionVsControl, enough.Control)}</td><td class=\"rate\">{ComparisonText(v.ConversionVsHoldout, enough.Holdout)}</td></tr>");
            }
            h.Add($"</tbody></table>");
            var rows = g.Where(v => Math.Min(v.Counts.Treated, Sample("control")) >= MinimumSample)
                .SelectMany(v => new[] { (v.Counts.Variant + " conversion", v.ConversionVsControl), (v.Counts.Variant + " click-through", v.ClickThroughVsControl) })
                .Where(r => r.Item2 is not null).Select(r => (r.Item1, r.Item2!.Difference, r.Item2.Low, r.Item2.High)).ToList();
            if (rows.Count > 0)
            {
                h.Add($"<p class=\"muted\">Difference from control, percentage points, 95 % interval (solid: the interval misses zero). Arms with fewer than {MinimumSample} commands or ghosts, or against a control with fewer, are left out: too few to tell.</p>");
                SvgCharts.DotWhisker(h, rows);
            }
            else
            {
                h.Add($"<p class=\"muted too-few\">Too few to tell: no arm and its control have {MinimumSample} commands or ghosts each yet.</p>");
            }
            if (report.Bandits.FirstOrDefault(b => b.RuleId == g.Key) is { } bandit)
            {
                Bandit(h, bandit);
            }
            h.Add($"</section>");
        }
    }

    /// <summary>A bandit's arms with the posterior probability that each is best, and each day's share of new assignments.</summary>
    private static void Bandit(Html h, BanditExperiment b)
    {
        h.Add($"<h4>Bandit allocation</h4><p class=\"muted\">Thompson sampling on conversions. P(best): the share of {BanditReport.Draws} posterior draws in which the arm is highest.</p>");
        h.Add($"<table class=\"bandit\"><thead><tr><th>variant</th><th>sent</th><th>converted</th><th>P(best)</th></tr></thead><tbody>");
        foreach (var a in b.Arms)
        {
            h.Add($"<tr data-variant=\"{a.Variant}\"><td>{a.Variant}</td><td class=\"n\">{a.Sent}</td><td class=\"n\">{a.Converted}</td><td class=\"n\">{Percent(a.ProbabilityBest)}</td></tr>");
        }
        h.Add($"</tbody></table><table class=\"bandit-days\"><thead><tr><th>day</th><th>new assignments</th>");
        foreach (var a in b.Arms)
        {
            h.Add($"<th>{a.Variant}</th>");
        }
        h.Add($"</tr></thead><tbody>");
        foreach (var d in b.Days)
        {
            h.Add($"<tr><td>{d.Day}</td><td class=\"n\">{d.Assigned}</td>");
            foreach (var a in b.Arms)
            {
                h.Add($"<td class=\"n\">{Percent(d.Share.GetValueOrDefault(a.Variant))}</td>");
            }
            h.Add($"</tr>");
        }
        h.Add($"</tbody></table>");
    }

    private static string Percent(double? v) => v is { } x ? x.ToString("P1", System.Globalization.CultureInfo.InvariantCulture) : "-";

    private static string RateText(Rate? r) => r is null ? "-"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.Value:P1} [{r.Low:P1}, {r.High:P1}] ({r.Successes}/{r.Trials})");

    /// <summary>
    /// Below this many commands (or ghosts) in either arm a difference is not shown: a Wald-style interval from a handful of
    /// users is near zero width and reads as certainty ("+0.0 pt [+0.0, +0.0]" from n = 1).
    /// </summary>
    public const int MinimumSample = 30;

    private static string ComparisonText(Comparison? c, long smallerArm) => c is null ? "-"
        : smallerArm < MinimumSample ? $"too few to tell (n = {smallerArm} < {MinimumSample})"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.Difference * 100:+0.0;-0.0} pt [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}] p={c.PValue:0.000}");

    private static string Ago(TimeSpan t) => t.TotalDays >= 1 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.TotalDays:0.#} d")
        : t.TotalHours >= 1 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.TotalHours:0.#} h")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Math.Max(0, t.TotalMinutes):0} min");
}
