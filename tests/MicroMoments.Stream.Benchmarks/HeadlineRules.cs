namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// "The worker with only the two headline rules": a rules file with <c>setup-task-failing</c> and <c>cart-abandoned</c>
/// (and the <c>labels</c> their messages use) copied line for line from the default catalogue the worker ships, so they
/// cannot drift from it. It has no <c>policies</c>: the catalogue's caps, quiet hours and pauses are global and would
/// make the worker's commands depend on the mix (a user's fourth command in an hour, a night-time run), which the peer
/// does not model; each rule's own <c>policy</c> (its cooldown) stays, and the peer keeps it too.
/// <c>allowedLateness</c> is the default (5 min): events in order give the commands of timestamp order.
/// </summary>
public static class HeadlineRules
{
    public static readonly string[] RuleIds = [HeadlineRulesTransformer.CountRule, HeadlineRulesTransformer.CartRule];

    /// <summary>Writes the file (one path per process) and returns that path.</summary>
    public static string Write()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));
        var text = new List<string>
        {
            "# The seed's two headline rules, copied verbatim from default.rules.yaml by the benchmark (HeadlineRules.cs).",
            "# No global policies: see docs/benchmarks.md, \"The peer: Kafka Streams via Streamiz\".",
            "version: \"headline-rules\"",
            "",
        };
        text.AddRange(Block(lines, l => l == "labels:", l => l.Length == 0));
        text.Add("");
        text.Add("rules:");
        foreach (var id in RuleIds)
        {
            text.AddRange(Block(lines, l => l == $"  - id: {id}", l => l.StartsWith("  - id:", StringComparison.Ordinal) || l.StartsWith("  #", StringComparison.Ordinal) || l.Length == 0));
            text.Add("");
        }
        var path = Path.Combine(Path.GetTempPath(), $"mm-bench-headline-{Environment.ProcessId}.rules.yaml");
        File.WriteAllLines(path, text);
        return path;
    }

    /// <summary>The lines from the one <paramref name="starts"/> up to the first after it that <paramref name="ends"/>.</summary>
    private static IEnumerable<string> Block(string[] lines, Func<string, bool> starts, Func<string, bool> ends)
    {
        var from = Array.FindIndex(lines, l => starts(l));
        if (from < 0)
        {
            throw new InvalidOperationException("the default rules changed shape: update HeadlineRules");
        }
        var to = from + 1;
        while (to < lines.Length && !ends(lines[to]))
        {
            to++;
        }
        return lines[from..to];
    }
}
