namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>The page shell every console page shares: the style sheet, the navigation and the find-a-user form.</summary>
public static class ConsoleLayout
{
    private const string Style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#212121;background:#fafafa}
        header{background:#263238;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center;flex-wrap:wrap}
        header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
        input{font:inherit;padding:.2em .4em;min-width:16em}button{font:inherit}
        main{padding:1em 1.2em;max-width:1200px}h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .4em}
        table{border-collapse:collapse;background:#fff;margin:.3em 0}th,td{border-bottom:1px solid #e0e0e0;padding:.25em .6em;text-align:left;vertical-align:top}
        th{background:#eceff1;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .badge{display:inline-block;padding:0 .45em;border-radius:.6em;color:#fff;font-size:.85em}
        .o-emitted{background:#2e7d32}.o-deferred{background:#1565c0}.o-held_out{background:#8e24aa}.o-suppressed{background:#e65100}.o-cancelled{background:#6d4c41}.o-other{background:#757575}
        .gate{font-weight:600;color:#bf360c}.muted{color:#757575}.warn{background:#fff3e0;border-left:4px solid #e65100;padding:.4em .8em}
        dl.facts{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;background:#fff;padding:.6em 1em;margin:0}dl.facts dt{color:#616161}dl.facts dd{margin:0;font-weight:600}
        .k-event{fill:#607d8b}.k-decision{fill:#e65100}.k-command{fill:#2e7d32}.k-feedback{fill:#1565c0}.k-timer{fill:#8e24aa}.k-deferred{fill:#00838f}.k-cancelled{fill:#6d4c41}
        td.n,td.rate,td.time,time{white-space:nowrap}td.trigger{max-width:28em}#rules td:first-child,#decisions td:nth-child(2),#feedback td:nth-child(2){white-space:nowrap}
        ol.timeline{list-style:none;padding:0;background:#fff}ol.timeline li{border-bottom:1px solid #eeeeee;padding:.2em .6em}
        ol.timeline time{color:#616161;font-variant-numeric:tabular-nums;margin-right:.8em}.kind{display:inline-block;width:5.5em;color:#455a64}
        """;

    /// <summary>The page around <paramref name="body"/>; the title is escaped like everything else.</summary>
    public static string Page(string title, string? userId, Action<Html> body)
    {
        var h = new Html();
        h.Add($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Add($"<title>{title} · MicroMoments console</title><style>{new Markup(Style)}</style></head><body>");
        h.Add($"<header><a href=\"/console\">MicroMoments console</a><a href=\"/console/rules\">Rules</a><a href=\"/console/retention\">Retention</a>");
        h.Add($"<form method=\"get\" action=\"/console/users\" role=\"search\"><label>User id <input id=\"user-id\" name=\"id\" value=\"{userId}\" required></label> <button type=\"submit\">Find</button></form></header><main>");
        body(h);
        h.Add($"</main></body></html>");
        return h.ToString();
    }

    /// <summary>An outcome as a coloured badge; its CSS class is only ever one of a fixed set.</summary>
    public static Markup Badge(string outcome)
    {
        var css = outcome is "emitted" or "deferred" or "held_out" or "suppressed" or "cancelled" ? outcome : "other";
        return new Markup($"<span class=\"badge o-{css}\">{Html.Text(outcome)}</span>");
    }
}
