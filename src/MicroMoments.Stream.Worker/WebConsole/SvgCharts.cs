using System.Globalization;
using MicroMoments.Stream.Core.Analytics;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>Small inline SVG charts: drawn on the server, no script, sized by the numbers alone.</summary>
public static class SvgCharts
{
    /// <summary>The colour of an outcome; an outcome the console does not know yet gets grey and still shows.</summary>
    public static string Colour(string outcome) => outcome switch
    {
        "emitted" => "#2e7d32",
        "deferred" => "#1565c0",
        "held_out" => "#8e24aa",
        "cancelled" => "#6d4c41",
        "suppressed" => "#e65100",
        _ => "#757575",
    };

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>One horizontal bar split by share, each part titled with its label and count (shown on hover).</summary>
    public static void StackedBar(Html h, IReadOnlyList<(string Label, string Outcome, long Count)> parts, int width = 220, int height = 14)
    {
        var total = parts.Sum(p => p.Count);
        h.Add($"<svg class=\"bar\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">");
        h.Add($"<title>{string.Join(", ", parts.Where(p => p.Count > 0).Select(p => $"{p.Label} {p.Count}"))}</title>");
        if (total == 0)
        {
            h.Add($"<rect width=\"{width}\" height=\"{height}\" fill=\"#eeeeee\"/>");
        }
        double x = 0;
        foreach (var (label, outcome, count) in parts.Where(p => p.Count > 0))
        {
            var w = (double)count / total * width;
            h.Add($"<rect x=\"{F(x)}\" width=\"{F(w)}\" height=\"{height}\" fill=\"{Colour(outcome)}\" fill-opacity=\"{(outcome == "suppressed" ? 0.55 + 0.45 * (x / width) : 1):0.##}\"><title>{label}: {count}</title></rect>");
            x += w;
        }
        h.Add($"</svg>");
    }

    /// <summary>
    /// Dot and whisker per row on one shared axis: a value with its interval, in percentage points, with a line at zero
    /// (no difference from control). Rows whose interval misses zero are drawn solid.
    /// </summary>
    public static void DotWhisker(Html h, IReadOnlyList<(string Label, double Value, double Low, double High)> rows, int width = 640)
    {
        const int rowHeight = 22, labelWidth = 160, pad = 10;
        var extent = Math.Max(0.01, rows.Select(r => Math.Max(Math.Abs(r.Low), Math.Abs(r.High))).DefaultIfEmpty(0.01).Max());
        var plot = width - labelWidth - 2 * pad;
        double X(double v) => labelWidth + pad + (v + extent) / (2 * extent) * plot;
        var height = rows.Count * rowHeight + 18;
        h.Add($"<svg class=\"whisker\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">");
        h.Add($"<line x1=\"{F(X(0))}\" x2=\"{F(X(0))}\" y1=\"0\" y2=\"{height - 16}\" stroke=\"#9e9e9e\" stroke-dasharray=\"3 3\"/>");
        h.Add($"<text x=\"{F(X(-extent))}\" y=\"{height - 3}\" font-size=\"10\">{-extent * 100:+0.0;-0.0} pt</text>");
        h.Add($"<text x=\"{F(X(0))}\" y=\"{height - 3}\" font-size=\"10\" text-anchor=\"middle\">0</text>");
        h.Add($"<text x=\"{F(X(extent))}\" y=\"{height - 3}\" font-size=\"10\" text-anchor=\"end\">{extent * 100:+0.0;-0.0} pt</text>");
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, value, low, high) = rows[i];
            var y = i * rowHeight + rowHeight / 2;
            var clear = low > 0 || high < 0;
            var colour = clear ? (value > 0 ? "#2e7d32" : "#c62828") : "#616161";
            h.Add($"<g><title>{label}: {value * 100:+0.0;-0.0} pt [{low * 100:+0.0;-0.0}, {high * 100:+0.0;-0.0}]</title>");
            h.Add($"<text x=\"0\" y=\"{y + 4}\" font-size=\"11\">{label}</text>");
            h.Add($"<line x1=\"{F(X(low))}\" x2=\"{F(X(high))}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            h.Add($"<circle cx=\"{F(X(value))}\" cy=\"{y}\" r=\"4\" fill=\"{(clear ? colour : "#ffffff")}\" stroke=\"{colour}\" stroke-width=\"2\"/></g>");
        }
        h.Add($"</svg>");
    }

    /// <summary>One retention curve to draw: its colour, and a heavier line for the curve the others are read against.</summary>
    public sealed record RetentionLine(RetentionCurve Curve, string Colour, bool Bold = false);

    /// <summary>
    /// Retention curves on one chart, a line each, with the table's numbers on hover. The days are evenly spaced (1, 3, 7,
    /// 14, 30 read as steps, so day 1 and day 3 do not crowd against the axis) and retention runs 0–100 % up the side, the
    /// same on every chart so two can be set side by side. A point marks each day observable for that curve; a day not yet
    /// observable has none, and a curve with no observable day has no line. Names stand in a legend on the right.
    /// </summary>
    public static void RetentionLines(Html h, string chart, string title, IReadOnlyList<int> days, IReadOnlyList<RetentionLine> lines, int width = 520)
    {
        const int plotHeight = 150, top = 8, left = 40, legendWidth = 150, axis = 20, legendRow = 14;
        var plot = width - left - legendWidth - 10;
        var height = Math.Max(top + plotHeight + axis, top + lines.Count * legendRow + 4);
        double X(int i) => left + (days.Count == 1 ? plot / 2.0 : (double)i / (days.Count - 1) * plot);
        double Y(double rate) => top + (1 - rate) * plotHeight;
        h.Add($"<svg class=\"lines\" role=\"img\" data-chart=\"{chart}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"><title>{title}</title>");
        foreach (var rate in new[] { 0, 0.5, 1 })
        {
            h.Add($"<line x1=\"{left}\" x2=\"{F(left + plot)}\" y1=\"{F(Y(rate))}\" y2=\"{F(Y(rate))}\" stroke=\"{(rate == 0 ? "#9e9e9e" : "#eeeeee")}\"/><text x=\"{left - 4}\" y=\"{F(Y(rate) + 3)}\" font-size=\"10\" text-anchor=\"end\">{rate * 100:0} %</text>");
        }
        for (var i = 0; i < days.Count; i++)
        {
            h.Add($"<text x=\"{F(X(i))}\" y=\"{top + plotHeight + 14}\" font-size=\"10\" text-anchor=\"middle\">day {days[i]}</text>");
        }
        for (var k = 0; k < lines.Count; k++)
        {
            var (curve, colour, bold) = lines[k];
            var points = curve.Cells.Select((c, i) => (Cell: c, X: X(i))).Where(p => p.Cell.Rate is not null).ToList();
            h.Add($"<g class=\"curve\" data-curve=\"{curve.Name}\"><title>{curve.Name}: {curve.Users} users</title>");
            if (points.Count > 0)
            {
                var path = string.Join(' ', points.Select(p => $"{F(p.X)},{F(Y(p.Cell.Rate!.Value))}"));
                h.Add($"<polyline points=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{(bold ? 3 : 1.5)}\"/>");
            }
            foreach (var (cell, x) in points)
            {
                h.Add($"<circle cx=\"{F(x)}\" cy=\"{F(Y(cell.Rate!.Value))}\" r=\"{(bold ? 3.5 : 2.5)}\" fill=\"{colour}\" data-day=\"{cell.Day}\"><title>{curve.Name}, day {cell.Day}: {cell.Rate!.Value * 100:0.0} % ({cell.Retained}/{cell.Users})</title></circle>");
            }
            var ly = top + k * legendRow + 6;
            var lx = width - legendWidth;
            h.Add($"<line x1=\"{lx}\" x2=\"{lx + 14}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"{(bold ? 3 : 1.5)}\"/><text x=\"{lx + 18}\" y=\"{ly + 4}\" font-size=\"10\">{curve.Name}</text></g>");
        }
        h.Add($"</svg>");
    }

    /// <summary>
    /// A rule's last 48 hours (<see cref="HourlyOutcomes"/>): one line per series (matched, sent, suppressed, cancelled) over the
    /// hours, scaled to the busiest hour, with the series' totals in its title; a rule with no counts draws a flat "no data" line.
    /// </summary>
    public static void HourlyLines(Html h, long[][]? series, int width = 120, int height = 28)
    {
        var max = Math.Max(1, series?.Max(s => s.Max()) ?? 0);
        double X(int i) => 1 + (double)i / (HourlyOutcomes.Hours - 1) * (width - 2);
        double Y(long n) => height - 2 - (double)n / max * (height - 4);
        var totals = series is null ? "no data" : string.Join(", ", HourlyOutcomes.Series.Select((name, k) => $"{name} {series[k].Sum()}"));
        h.Add($"<svg class=\"hourly\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"><title>last 48 h: {totals} (busiest hour {max})</title>");
        h.Add($"<line x1=\"0\" x2=\"{width}\" y1=\"{height - 1}\" y2=\"{height - 1}\" stroke=\"#e0e0e0\"/>");
        for (var k = 0; series is not null && k < HourlyOutcomes.Series.Count; k++)
        {
            var name = HourlyOutcomes.Series[k];
            var points = string.Join(' ', series[k].Select((n, i) => $"{F(X(i))},{F(Y(n))}"));
            h.Add($"<polyline data-series=\"{name}\" points=\"{points}\" fill=\"none\" stroke=\"{Colour(name == "sent" ? "emitted" : name == "matched" ? "other" : name)}\" stroke-width=\"1.2\"/>");
        }
        h.Add($"</svg>");
    }

    /// <summary>
    /// The timeline as marks on a time axis, one row per kind, so bursts, gaps and what followed what show at a glance. The
    /// scale follows the data: linear over a span of up to <see cref="LinearSpan"/>; beyond it, by the logarithm of the time
    /// before the newest mark, so a month of history does not squash the last hour against the right edge. Ticks name the
    /// distances back ("1 h", "1 d").
    /// </summary>
    public static void TimelineStrip(Html h, IReadOnlyList<TimelineEntry> entries, IReadOnlyList<string> kinds, int width = 760)
    {
        if (entries.Count == 0)
        {
            return;
        }
        const int rowHeight = 18, labelWidth = 80, axis = 28;
        var from = entries.Min(e => e.At);
        var to = entries.Max(e => e.At);
        var spanMs = Math.Max(1, (to - from).TotalMilliseconds);
        var plot = width - labelWidth - 10;
        var linear = to - from <= LinearSpan;
        // Log scale: a minute is the unit, so marks within the newest minute stay apart and older ones share the rest.
        const double unitMs = 60_000;
        double X(DateTimeOffset at) => labelWidth + (linear
            ? (at - from).TotalMilliseconds / spanMs * plot
            : (1 - Math.Log(1 + (to - at).TotalMilliseconds / unitMs) / Math.Log(1 + spanMs / unitMs)) * plot);
        var height = kinds.Count * rowHeight + axis;
        var scale = linear ? "linear" : "logarithmic in the time before the newest mark";
        h.Add($"<svg class=\"strip\" role=\"img\" data-scale=\"{(linear ? "linear" : "log")}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"><title>timeline from {ConsoleTime.Text(from)} to {ConsoleTime.Text(to)}, {scale}</title>");
        for (var k = 0; k < kinds.Count; k++)
        {
            var y = k * rowHeight + rowHeight / 2;
            h.Add($"<text x=\"0\" y=\"{y + 4}\" font-size=\"11\">{kinds[k]}</text><line x1=\"{labelWidth}\" x2=\"{width - 10}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#eeeeee\"/>");
            foreach (var e in entries.Where(e => e.Kind == kinds[k]))
            {
                h.Add($"<circle cx=\"{F(X(e.At))}\" cy=\"{y}\" r=\"3.5\" class=\"k-{kinds[k]}\"><title>{ConsoleTime.Text(e.At)} {e.Title}</title></circle>");
            }
        }
        var baseline = kinds.Count * rowHeight + 2;
        h.Add($"<line x1=\"{labelWidth}\" x2=\"{width - 10}\" y1=\"{baseline}\" y2=\"{baseline}\" stroke=\"#9e9e9e\"/>");
        if (!linear)
        {
            foreach (var (back, label) in TicksBack.Where(t => t.Back.TotalMilliseconds < spanMs * 0.9))
            {
                var x = X(to - back);
                h.Add($"<line x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{baseline}\" y2=\"{baseline + 4}\" stroke=\"#9e9e9e\"/><text x=\"{F(x)}\" y=\"{baseline + 14}\" font-size=\"10\" text-anchor=\"middle\">-{label}</text>");
            }
        }
        h.Add($"<text x=\"{labelWidth}\" y=\"{height - 2}\" font-size=\"10\">{ConsoleTime.Text(from)}</text><text x=\"{width - 10}\" y=\"{height - 2}\" font-size=\"10\" text-anchor=\"end\">{ConsoleTime.Text(to)}</text></svg>");
    }

    /// <summary>Up to this span the timeline is drawn to a linear scale.</summary>
    public static readonly TimeSpan LinearSpan = TimeSpan.FromHours(6);

    private static readonly (TimeSpan Back, string Label)[] TicksBack =
    [
        (TimeSpan.FromMinutes(10), "10 min"), (TimeSpan.FromHours(1), "1 h"), (TimeSpan.FromHours(6), "6 h"), (TimeSpan.FromDays(1), "1 d"),
        (TimeSpan.FromDays(7), "7 d"), (TimeSpan.FromDays(30), "30 d"),
    ];
}
