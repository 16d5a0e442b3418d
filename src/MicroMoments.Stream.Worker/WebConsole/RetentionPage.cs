using System.Globalization;
using MicroMoments.Stream.Core.Analytics;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>
/// The retention page: the tables <c>report</c> prints (<see cref="RetentionTables"/>), from the same counters: curves by
/// sign-up day, and each rule's (and the program's) treated users against the global control group and the holdouts. Each
/// table has its curves drawn above it (<see cref="SvgCharts.RetentionLines"/>), for the shape at a glance.
/// </summary>
public static class RetentionPage
{
    public static string Render(RetentionReport r) => ConsoleLayout.Page("retention", null, h =>
    {
        h.Add($"<h1>Retention</h1><p class=\"muted\">Counted since the counters began, over every instance, in UTC days. Retained at day N: active (any event but intervention feedback) on a day N or more days after the first day. A day not yet observable for a cohort (its first day + N after the data's last day, {r.ObservedThrough ?? "none yet"}) is left out of that column: \"-\" when no cohort has it. 95 % Wilson intervals.</p>");
        h.Add($"<h2>By sign-up day</h2>");
        if (r.AllCohorts is { } all)
        {
            var lines = r.Cohorts.TakeLast(CohortLines).Select((c, i) => new SvgCharts.RetentionLine(c, CohortColours[i % CohortColours.Length]))
                .Append(new SvgCharts.RetentionLine(all, "#212121", Bold: true)).ToList();
            SvgCharts.RetentionLines(h, "cohorts", "retention by sign-up day, a line per cohort and a heavy one for all", r.Days, lines);
        }
        h.Add($"<table id=\"cohorts\"><thead><tr><th>signed up</th><th>users</th>");
        foreach (var day in r.Days)
        {
            h.Add($"<th>day {day}</th>");
        }
        h.Add($"</tr></thead><tbody>");
        foreach (var c in r.Cohorts.Append(r.AllCohorts).OfType<RetentionCurve>())
        {
            h.Add($"<tr data-cohort=\"{c.Name}\"><td>{c.Name}</td><td class=\"n\">{c.Users}</td>");
            foreach (var cell in c.Cells)
            {
                h.Add($"<td class=\"n\">{Cell(cell)}</td>");
            }
            h.Add($"</tr>");
        }
        h.Add($"</tbody></table>");
        if (r.Cohorts.Count == 0)
        {
            h.Add($"<p class=\"muted\">No sign-up counted yet.</p>");
        }

        h.Add($"<h2>Treated against control</h2><p class=\"muted\">From the UTC day of each user's first command sent (emitted or deferred), or first ghost (held out: global control group, experiment holdout). Differences in percentage points with their 95 % interval and p-value.</p>");
        if (r.Arms.Count == 0)
        {
            h.Add($"<p class=\"muted\">No treated or control user counted yet.</p>");
            return;
        }
        foreach (var a in r.Arms)
        {
            var heading = a.RuleId == RetentionArms.Program ? "Every rule" : a.RuleId;
            h.Add($"<section class=\"arms\" data-rule=\"{a.RuleId}\"><h3>{heading}</h3>");
            // The arms in the colours the rules page gives their outcomes: sent green, global control orange, holdout purple.
            var arms = new (RetentionCurve? Curve, string Colour)[] { (a.Treated, SvgCharts.Colour("emitted")), (a.GlobalControl, SvgCharts.Colour("suppressed")), (a.Holdout, SvgCharts.Colour("held_out")) }
                .Where(x => x.Curve is not null).Select(x => new SvgCharts.RetentionLine(x.Curve!, x.Colour, Bold: ReferenceEquals(x.Curve, a.Treated))).ToList();
            SvgCharts.RetentionLines(h, "arms", $"{heading}: retention of treated users against control", r.Days, arms);
            h.Add($"<table><thead><tr><th>arm</th><th>users</th>");
            foreach (var day in r.Days)
            {
                h.Add($"<th>day {day}</th>");
            }
            h.Add($"</tr></thead><tbody>");
            foreach (var arm in new[] { a.Treated, a.GlobalControl, a.Holdout }.OfType<RetentionCurve>())
            {
                h.Add($"<tr data-arm=\"{arm.Name}\"><td>{arm.Name}</td><td class=\"n\">{arm.Users}</td>");
                foreach (var cell in arm.Cells)
                {
                    h.Add($"<td>{Interval(cell)}</td>");
                }
                h.Add($"</tr>");
            }
            foreach (var (name, comparisons) in new[] { ("vs global_control", a.VsGlobalControl), ("vs holdout", a.VsHoldout) })
            {
                if (comparisons.Any(c => c is not null))
                {
                    h.Add($"<tr data-comparison=\"{name}\"><td>{name}</td><td></td>");
                    foreach (var c in comparisons)
                    {
                        h.Add($"<td>{Difference(c)}</td>");
                    }
                    h.Add($"</tr>");
                }
            }
            h.Add($"</tbody></table></section>");
        }
    });

    /// <summary>The chart draws the latest this many cohorts (the table lists every one): a line and a legend row each, so months of sign-ups stay one small chart.</summary>
    public const int CohortLines = 8;

    /// <summary>Cohort lines cycle through these; the curve over all cohorts is drawn heavy and near-black above them.</summary>
    private static readonly string[] CohortColours = ["#90caf9", "#a5d6a7", "#ffcc80", "#ce93d8", "#80cbc4", "#ef9a9a", "#b0bec5"];

    private static string Cell(RetentionCell c) => c.Rate is { } rate
        ? string.Create(CultureInfo.InvariantCulture, $"{rate.Value:P1} ({c.Retained}/{c.Users})")
        : "-";

    private static string Interval(RetentionCell c) => c.Rate is { } r
        ? string.Create(CultureInfo.InvariantCulture, $"{r.Value:P1} [{r.Low:P1}, {r.High:P1}] ({c.Retained}/{c.Users})")
        : "-";

    private static string Difference(Comparison? c) => c is null ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"{c.Difference * 100:+0.0;-0.0} pt [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}] p={c.PValue:0.000}");
}
