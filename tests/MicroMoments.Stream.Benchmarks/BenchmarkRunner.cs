using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>What to run: <c>--quick</c>, <c>--garnet</c>, <c>--only section[,section]</c>, <c>--e2e</c>.</summary>
public sealed record BenchmarkOptions(bool Quick, bool Garnet, IReadOnlySet<string> Sections, bool EndToEnd)
{
    /// <summary>Every section, in the order they run.</summary>
    public static readonly string[] All = ["first", "core", "throughput", "latency", "ceiling", "rules", "timers", "memory", "console", "peer"];

    /// <summary>What <c>--quick</c> runs unless <c>--only</c> says otherwise.</summary>
    public static readonly string[] QuickSections = ["first", "core", "throughput", "latency", "ceiling", "peer"];

    public static BenchmarkOptions? Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        var only = Array.IndexOf(args, "--only");
        IReadOnlySet<string> sections = new HashSet<string>(quick ? QuickSections : All, StringComparer.Ordinal);
        if (only >= 0)
        {
            if (only + 1 >= args.Length)
            {
                return null;
            }
            sections = args[only + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            if (!sections.All(s => All.Contains(s)))
            {
                return null;
            }
        }
        return new BenchmarkOptions(quick, args.Contains("--garnet"), sections, EndToEnd: !quick || args.Contains("--e2e"));
    }

    public bool Runs(string section) => Sections.Contains(section);
}

/// <summary>
/// Runs the chosen sections and ends with <c>first_intervention_ms=F</c>, <c>p99_20k_ms=L</c> and the one-line summary
/// <c>events_per_s=N ceiling_ratio=R p99_ms=L</c> (p99 at 10k events/s); each a median of <see cref="PipelineSections.Rounds"/> rounds.
/// With the peer section, its lines follow: <c>peer_equal=…</c> and one <c>system=… events_per_s=…</c> line per system.
/// </summary>
public static class BenchmarkRunner
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["--capacity", var log])
        {
            // The capacity table from a benchmark output's capacity lines (docs/capacity.md).
            var inputs = CapacityModel.Parse(await File.ReadAllTextAsync(log));
            if (CapacityModel.Keys.Where(k => !inputs.ContainsKey(k)).ToList() is { Count: > 0 } missing)
            {
                Console.Error.WriteLine($"{log} has no capacity line with {string.Join(", ", missing)}: run the throughput, timers and memory sections (docs/capacity.md)");
                return 2;
            }
            Console.Write(CapacityModel.Table(inputs));
            return 0;
        }
        if (BenchmarkOptions.Parse(args) is not { } o)
        {
            Console.Error.WriteLine($"usage: [--quick] [--garnet] [--e2e] [--only {string.Join('|', BenchmarkOptions.All)}[,...]] | --capacity <benchmark output>");
            return 2;
        }
        var started = Stopwatch.StartNew();
        using var infra = BenchInfrastructure.Start(o.Garnet);
        Console.WriteLine($"sections: {string.Join(", ", BenchmarkOptions.All.Where(o.Runs))}{(o.Quick ? " (quick)" : "")}; {Environment.ProcessorCount} cores, Redis = {infra.RedisKind}; GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode}");

        // First: its worker must be the process's first, its code not yet compiled.
        var firstIntervention = o.Runs("first") ? await FirstIntervention.RunAsync(infra) : double.NaN;
        if (o.Runs("core"))
        {
            Console.WriteLine("core: the worker's stages on one thread, no I/O (thread CPU time, per stage the best round after a warm-up):");
            // A discarded run first: whichever variant ran first read 30-100 % slower (the sections before it leave
            // collections and compilation behind), which the ratios below must not see.
            _ = CoreCost.Run(infra, "warm-up", 20_000, rounds: 1);
            var catalogue = CoreCost.Run(infra, "default catalogue", o.Quick ? 50_000 : 200_000, rounds: o.Quick ? 3 : 5);
            catalogue.Print();
            // The same file read from a temporary copy, as the two variants below are: the ratios' baseline.
            var copy = CoreCost.Run(infra, "default catalogue (copy)", o.Quick ? 50_000 : 200_000, rounds: o.Quick ? 3 : 5, rulesPath: DeliveryTimeRules(null));
            copy.Print();
            // Issue 14's features: the catalogue has best_time and the cart's cancelOn (its missing event); the first
            // run takes best_time out, the second adds every global delivery-time policy.
            var events = o.Quick ? 50_000 : 200_000;
            var without = CoreCost.Run(infra, "catalogue without best_time", events, rounds: o.Quick ? 3 : 5, rulesPath: DeliveryTimeRules(false));
            without.Print();
            var delivery = CoreCost.Run(infra, "catalogue + rate limits, global control 5 %, calendar-day cap", events, rounds: o.Quick ? 3 : 5,
                rulesPath: DeliveryTimeRules(true));
            delivery.Print();
            Console.WriteLine(Stats.Invariant($"  delivery-time features: {copy.TotalNanos / without.TotalNanos:F2}× (catalogue) and {delivery.TotalNanos / without.TotalNanos:F2}× (all on) the CPU per event without best_time; state {copy.StateBytes - without.StateBytes:+0;-0} B and {delivery.StateBytes - without.StateBytes:+0;-0} B per user"));
            ArmAllocationCost.Run(o.Quick ? 50_000 : 200_000);
            // Learned segments: paid only by rules that read user.cluster, once per event each; measured apart.
            ClusterAssignmentCost.Run(events: 20_000, evaluations: o.Quick ? 200_000 : 1_000_000);
        }
        PipelineResults? pipeline = null;
        if (o.Runs("throughput") || o.Runs("latency") || o.Runs("ceiling"))
        {
            pipeline = await PipelineSections.RunAsync(infra, o, o.Runs("throughput"), o.Runs("latency"), o.Runs("ceiling"));
        }
        if (o.Runs("rules"))
        {
            await RuleKinds.RunAsync(infra, o);
        }
        if (o.Runs("timers"))
        {
            await ScaleSections.TimersAsync(infra, o);
        }
        if (o.Runs("memory"))
        {
            await ScaleSections.MemoryAsync(infra, o);
        }
        if (o.Runs("console"))
        {
            await ConsoleSection.RunAsync(infra);
        }
        var peer = o.Runs("peer") ? await PeerSection.RunAsync(infra, o) : [];
        Console.WriteLine($"done in {started.Elapsed.TotalSeconds:F0} s");
        if (CapacityInputs.Line() is { } capacity)
        {
            Console.WriteLine(capacity); // docs/capacity.md's inputs
        }
        double P99At(int rate) => Stats.Median(pipeline?.P99.GetValueOrDefault(rate) ?? []);
        Console.WriteLine(Stats.Invariant($"first_intervention_ms={firstIntervention:F1}"));
        Console.WriteLine(Stats.Invariant($"p99_20k_ms={P99At(20_000):F1}"));
        // This line keeps its form (the peer's lines follow it); each figure is the median of the rounds.
        Console.WriteLine(Stats.Invariant($"events_per_s={Stats.Median(pipeline?.EventsPerSecond ?? []):F0} ceiling_ratio={Stats.Median(pipeline?.Ratios ?? []):F2} p99_ms={P99At(10_000):F1}"));
        // The peer section's lines come last: the equality check, then one line per system (peer, worker with the two rules, worker with the catalogue).
        foreach (var line in peer)
        {
            Console.WriteLine(line);
        }
        return 0;
    }

    /// <summary>
    /// The default rules in a temporary file: with every delivery-time policy on (docs/rules.md), or with its
    /// best_time rule delivering as soon as the policies allow, or (null) as they are.
    /// </summary>
    private static string DeliveryTimeRules(bool? all)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));
        var changed = all is null ? text + "\n" : all.Value
            ? text.Replace("policies:\n  caps:", "policies:\n  rateLimit: [{ channel: push, perMinute: 2000 }, { channel: in_app, perMinute: 5000 }]\n  globalControl: 0.05\n  caps:", StringComparison.Ordinal)
                .Replace("{ max: 8, per: 24h }", "{ max: 8, per: 1d }", StringComparison.Ordinal)
            : Regex.Replace(text, @"\n\s*deliver: best_time[^\n]*", "");
        if (changed == text || (all == true && !changed.Contains("per: 1d", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException("the default rules changed shape: update DeliveryTimeRules");
        }
        text = changed;
        var path = Path.Combine(Path.GetTempPath(), $"mm-bench-delivery-{all}-{Environment.ProcessId}.yaml");
        File.WriteAllText(path, text);
        return path;
    }
}
