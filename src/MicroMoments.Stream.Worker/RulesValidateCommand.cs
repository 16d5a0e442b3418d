using System.Globalization;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>rules validate &lt;file&gt; [--events &lt;sample.ndjson&gt;]</c>: exit 0, or the errors with line numbers and exit 1; exit 2
/// when a file cannot be read (a directory, too large). Warnings (a <c>where</c> that can never hold; with a sample, an event
/// name or <c>where</c> key it never has) go to stderr and leave the exit code 0: the file is valid, and may still be meant.
/// With a sample, it prints per rule the events and users its trigger names, those its <c>where</c> lets through, and how often it
/// fired with its <c>when</c> conditions holding (<see cref="SampleCheck"/>, the worker's own logic offline).
/// </summary>
public static class RulesValidateCommand
{
    public static int Run(string file, string? events, TextWriter stdout, TextWriter stderr)
    {
        string text;
        try
        {
            text = RuleSetLoader.ReadFile(file);
        }
        catch (IOException ex)
        {
            stderr.WriteLine(ex.Message.Contains(file, StringComparison.Ordinal) ? ex.Message : $"{file}: {ex.Message}");
            return 2;
        }
        var errors = new List<RuleError>();
        var set = RuleSetLoader.TryLoad(text, errors);
        if (set is null)
        {
            foreach (var e in errors)
            {
                stderr.WriteLine($"{file}:{e.Line}: {e.Message}");
            }
            return 1;
        }
        stdout.WriteLine($"{file}: {set.Rules.Count} rules, version {set.Version}: valid");
        if (events is null)
        {
            Warn(SampleCheck.ByConstruction(set), stderr);
            return 0;
        }
        string[] lines;
        try
        {
            lines = File.ReadAllLines(events);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"rules validate: cannot read --events {events}: {ex.Message}");
            return 2;
        }
        var (rules, warnings) = SampleCheck.Run(set, lines);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Against {events} ({lines.Length} lines): per rule, events (users)"));
        stdout.WriteLine($"{"rule",-34} {"trigger event",-24} {"named",14} {"where holds",14} {"fired (when)",14}");
        foreach (var r in rules)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.RuleId,-34} {r.Event ?? "(timer)",-24} {$"{r.Named} ({r.NamedUsers})",14} {$"{r.Matched} ({r.MatchedUsers})",14} {$"{r.Fired} ({r.FiredUsers})",14}"));
            if (r.Conditions.Count > 0)
            {
                // Each condition alone, against the trigger firing with none: which one leaves people out.
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"trigger alone (no when)",-87} {$"{r.Triggered} ({r.TriggeredUsers})",14}"));
                foreach (var c in r.Conditions)
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"when " + c.Condition,-87} {$"{c.Fired} ({c.Users})",14}"));
                }
            }
        }
        Warn(warnings, stderr);
        return 0;
    }

    private static void Warn(IReadOnlyList<string> warnings, TextWriter stderr)
    {
        foreach (var w in warnings)
        {
            stderr.WriteLine($"warning: {w}");
        }
    }
}
