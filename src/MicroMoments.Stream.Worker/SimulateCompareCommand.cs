using System.Globalization;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>simulate --compare &lt;rules-a&gt; &lt;rules-b&gt; --events &lt;file&gt; [--until … | --drain …] [--json]</c>: the same events
/// through both rule files; per rule the counters of each run and the difference (b − a), then the users whose
/// outcome changed (docs/cli.md#simulate---compare).
/// </summary>
public static class SimulateCompareCommand
{
    public const string Flag = "--compare";

    /// <summary>How many changed users are listed (all are counted).</summary>
    public const int Listed = 20;

    private static readonly JsonSerializerOptions Json = new(InterventionCloudEvents.DataOptions) { WriteIndented = true };

    /// <summary>The JSON of <c>--json</c>: the two rule files, the events file and the comparison.</summary>
    public sealed record Output(string RulesA, string RulesB, string Events, BackTestResult Comparison);

    public static int Run(string[] args, int at, TextWriter stdout, TextWriter stderr)
    {
        if (at + 2 >= args.Length)
        {
            stderr.WriteLine("simulate: --compare takes two rules files: --compare <rules-a> <rules-b> --events <file>");
            return 2;
        }
        var (pathA, pathB) = (args[at + 1], args[at + 2]);
        var options = SimulationRun.Options([.. args[..at], .. args[(at + 3)..]], "--json");
        if (!options.TryGetValue("--events", out var eventsPath))
        {
            stderr.WriteLine("simulate: --events <file.ndjson> is required");
            return 2;
        }
        if (options.ContainsKey("--rules") || options.ContainsKey("--decisions"))
        {
            stderr.WriteLine("simulate: --compare takes its two rules files itself, and writes no --decisions");
            return 2;
        }
        if (!SimulationRun.TryEnd(options, stderr, out var until, out var drain)
            || SimulationRun.Read(eventsPath, stderr) is not { } events)
        {
            return 2;
        }
        // Both files checked before either runs, and both files' errors reported.
        var rulesA = SimulationRun.LoadRules(pathA, stderr, pathA);
        var rulesB = SimulationRun.LoadRules(pathB, stderr, pathB);
        if (rulesA is null || rulesB is null)
        {
            return 2;
        }
        var source = Path.GetFileName(eventsPath);
        var a = SimulationRun.Run(rulesA, events, source, until, drain, stderr); // the file's bad lines once, not twice
        var b = SimulationRun.Run(rulesB, events, source, until, drain, rejected: null);
        SimulationRun.Notes(a, stderr);
        var result = BackTest.Compare(rulesA.Rules.Select(r => r.Id).ToList(), a.Decisions, rulesB.Rules.Select(r => r.Id).ToList(), b.Decisions, Listed);
        if (options.ContainsKey("--json"))
        {
            stdout.WriteLine(JsonSerializer.Serialize(new Output(pathA, pathB, eventsPath, result), Json));
        }
        else
        {
            Write(result, pathA, pathB, stdout);
        }
        return 0;
    }

    public static void Write(BackTestResult result, string pathA, string pathB, TextWriter o)
    {
        o.WriteLine($"a: {pathA}");
        o.WriteLine($"b: {pathB}");
        foreach (var rule in result.Rules)
        {
            o.WriteLine();
            o.WriteLine(rule.Presence switch
            {
                "added" => $"{rule.RuleId} (added: only in b)",
                "removed" => $"{rule.RuleId} (removed: only in a)",
                _ => rule.RuleId,
            });
            o.WriteLine($"  {"",-32} {"a",8} {"b",8} {"b - a",8}");
            foreach (var m in rule.Metrics)
            {
                var label = m.Metric.Contains(':', StringComparison.Ordinal) ? "  " + m.Metric : m.Metric; // reasons under their total
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label,-32} {m.A,8} {m.B,8} {m.Difference,8:+0;-0;0}"));
            }
        }
        o.WriteLine();
        o.WriteLine(result.ChangedUsers.Count < result.ChangedUserCount
            ? $"Users whose outcome changed: {result.ChangedUserCount} (the first {result.ChangedUsers.Count})"
            : $"Users whose outcome changed: {result.ChangedUserCount}");
        if (result.ChangedUsers.Count > 0)
        {
            o.WriteLine($"  {"user",-20} {"before (a)",-56} after (b)");
        }
        foreach (var u in result.ChangedUsers)
        {
            o.WriteLine($"  {u.UserId,-20} {Describe(u.Before),-56} {Describe(u.After)}");
        }
    }

    /// <summary><c>ping emitted → cancelled (cancel_on:order completed)</c>, <c>ping deferred (quiet_hours) → expired</c>: the decision and what became of it.</summary>
    public static string Describe(DecisionSummary? d) => d is null ? "(no decision)"
        : string.Concat(d.Reason is null ? $"{d.RuleId} {d.Outcome}" : $"{d.RuleId} {d.Outcome} ({d.Reason})", string.Concat(d.Then.Select(t => " → " + Step(t))));

    /// <summary>A wait's end by its reason alone (<c>expired</c>, <c>superseded</c>, <c>schedule_full</c>); any other step as outcome (reason).</summary>
    private static string Step(DecisionStep t) => t switch
    {
        { Outcome: Outcomes.Suppressed, Reason: Reasons.Expired or Reasons.Superseded or Reasons.ScheduleFull } => t.Reason,
        { Reason: null } => t.Outcome,
        _ => $"{t.Outcome} ({t.Reason})",
    };
}
