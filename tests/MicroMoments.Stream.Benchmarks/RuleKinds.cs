using System.Diagnostics;
using MicroMoments.Stream.Worker.Pipeline;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The cost of each trigger kind: the standard mix through a rules file holding only one rule of that kind
/// (with the default file's global policies), against no rules at all and the whole default catalogue.
/// </summary>
public static class RuleKinds
{
    private const string Action = """
            action:
              moment: education
              channel: in_app
              message: { title: "Hi", body: "A tip about {{trigger.feature ?? it}}." }
        """;

    /// <summary>Label → the rules under <c>rules:</c>; each rule is built to fire on the standard mix.</summary>
    private static readonly (string Label, string Rules)[] Kinds =
    [
        ("no rules", ""),
        ("event", Rule("failed", "{ kind: event, event: Task Failed }")),
        ("count", Rule("failing", "{ kind: count, event: Task Failed, times: 3, within: 10m, per: task }")),
        ("dwell", Rule("home-dwell", "{ kind: dwell, view: Home, after: 90s }")),
        ("inactivity", Rule("idle", "{ kind: inactivity, after: 15m }")),
        ("absence", Rule("no-feature", "{ kind: absence, event: Task Failed, missing: Feature Used, within: 5m, per: task }")),
        ("threshold (on its event)", Rule("regular", "{ kind: threshold, event: Feature Used, metric: featureUses, above: 3 }")),
        ("threshold (any event)", Rule("low-engagement", "{ kind: threshold, metric: engagementScore, below: 40 }")),
        ("streak", Rule("streak", "{ kind: streak, days: 5 }")),
        ("escalation (+ its event rule)", Rule("failed", "{ kind: event, event: Task Failed }") + Rule("failed-escalation", "{ kind: escalation, rule: failed, after: 48h }")),
    ];

    private static string Rule(string id, string trigger) => $"""
          - id: {id}
            trigger: {trigger}
        {Action}

        """;

    public static async Task RunAsync(BenchInfrastructure infra, BenchmarkOptions o)
    {
        var dir = Directory.CreateTempSubdirectory("mm-rule-kinds");
        try
        {
            var policies = PoliciesOfDefaultFile();
            var files = Kinds.Select((k, i) =>
            {
                var path = Path.Combine(dir.FullName, $"kind{i}.yaml");
                File.WriteAllText(path, $"version: \"kind-{i}\"\n{policies}\nrules:{(k.Rules.Length == 0 ? " []" : "\n" + k.Rules)}");
                return (k.Label, Path: path);
            }).Append(("default catalogue (25 rules)", RulesOptions.DefaultPath)).ToList();

            var events = o.Quick ? 40_000 : 100_000;
            Console.WriteLine($"rule kinds, in process (the worker's stages on one thread, no I/O; {events:N0} events of the standard mix, per stage the best of 5 rounds):");
            foreach (var (label, path) in files)
            {
                var r = CoreCost.Run(infra, label, events, rounds: 5, path);
                Console.WriteLine($"  {label,-32} {(r.TotalNanos + r.OtherThreadsNanosPerEvent) / 1000,6:F2} µs/event = {r.EventsPerCoreSecond,9:N0} events/s per core; {r.TotalBytes,6:N0} B allocated/event; state {r.StateBytes,4:F0} B; {r.Interventions,6:N0} interventions");
            }
            if (!o.EndToEnd)
            {
                return;
            }
            var e2eEvents = o.Quick ? 100_000 : 300_000;
            Console.WriteLine($"rule kinds, end to end ({e2eEvents:N0} events through the whole worker; wall-clock, so as noisy as the machine):");
            for (var i = 0; i < files.Count; i++)
            {
                var (label, path) = files[i];
                var section = $"kinds{i}";
                infra.Topics(section);
                await using var worker = await WorkerUnderTest.StartAsync(infra, section, path);
                var generator = new EventMix(e2eEvents / 20, seed: 42);
                var cpu = CpuSample.Take(infra);
                for (var n = 0; n < e2eEvents; n++)
                {
                    while (n - worker.Total > 100_000)
                    {
                        infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
                    }
                    var (user, body, _) = generator.Next(DateTimeOffset.UtcNow);
                    infra.Produce($"{section}-clickstream", user, body);
                }
                infra.Producer.Flush();
                await worker.WaitForAsync(e2eEvents, TimeSpan.FromMinutes(5));
                var used = CpuSample.Take(infra) - cpu;
                var rate = e2eEvents / Math.Max(0.001, (worker.LastAt - worker.FirstAt).TotalSeconds);
                Console.WriteLine($"  {label,-32} {rate,9:N0} events/s; {used.Describe(e2eEvents, "event")}");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The <c>policies:</c> block of the default rules file, so caps and quiet hours apply as in production.</summary>
    private static string PoliciesOfDefaultFile()
    {
        var lines = File.ReadAllLines(RulesOptions.DefaultPath);
        var start = Array.FindIndex(lines, l => l.StartsWith("policies:", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, start + 1, l => l.Length > 0 && !char.IsWhiteSpace(l[0]));
        Debug.Assert(start >= 0 && end > start);
        return string.Join('\n', lines[start..end]);
    }
}
