namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>The console's front page: find a user, or look at the rules.</summary>
public static class HomePage
{
    public static string Render() => ConsoleLayout.Page("console", null, h =>
    {
        h.Add($"<h1>MicroMoments console</h1><p>Read-only views of what the worker decided and why.</p><ul>");
        h.Add($"<li><strong>A user</strong>: type the user id in the box above. The page shows each decision with the events that triggered it and the gate that held it back, count triggers part way as progress (“2 of 3 within 10 min”), commands as sent, deferred or cancelled with their feedback, pending timers, derived values and the timeline. Times are in UTC with the user's local time beside them.</li>");
        h.Add($"<li><a href=\"/console/rules\">The rules</a>: each rule's trigger frequency, outcomes (cancelled apart), suppressions by reason, click-through and conversion with intervals, experiment arms against control, and the rules version.</li>");
        h.Add($"<li><a href=\"/console/retention\">Retention</a>: the curves by sign-up day (days 1, 3, 7, 14 and 30), and each rule's treated users against the global control group and the experiment holdouts, the tables <code>report</code> prints.</li></ul>");
    });
}
