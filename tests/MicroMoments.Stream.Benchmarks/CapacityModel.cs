using System.Globalization;
using System.Text;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The figures a capacity model needs, gathered while the sections run and printed at the end as one line:
/// <c>capacity key=value …</c>, each value the median of what was added under its key.
/// </summary>
public static class CapacityInputs
{
    private static readonly Dictionary<string, List<double>> Values = new(StringComparer.Ordinal);

    /// <summary>Adds a figure measured on <paramref name="infra"/>; none under Garnet, whose CPU and counters are not Redis's (the model is of redis-server).</summary>
    public static void Add(BenchInfrastructure infra, string key, double value)
    {
        if (infra.RedisProcess is not null && double.IsFinite(value))
        {
            (Values.TryGetValue(key, out var list) ? list : Values[key] = []).Add(value);
        }
    }

    /// <summary>The line, or null when no section added anything.</summary>
    public static string? Line() => Values.Count == 0
        ? null
        : "capacity " + string.Join(' ', Values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => Stats.Invariant($"{v.Key}={Stats.Median(v.Value):0.###}")));
}

/// <summary>
/// The capacity model of docs/capacity.md: from the benchmark's <c>capacity</c> lines, what a deployment needs for a
/// number of users and an event rate. Run <c>--capacity &lt;benchmark output&gt;</c> to print the table; a test checks
/// that the table in docs/capacity.md is the one its own input lines give.
/// </summary>
public static class CapacityModel
{
    /// <summary>Each core, worker or Redis, planned at most this busy: room for bursts, rebalances and catch-up.</summary>
    public const double Utilisation = 0.6;

    /// <summary>Cores per worker pod (the CPU limit in deploy/k8s; it requests 500m).</summary>
    public const int CoresPerWorker = 2;

    /// <summary>Memory planned per Redis master (<c>maxmemory</c> on a 32 GiB node, room left for replication buffers).</summary>
    public const double BytesPerShard = 24.0 * 1024 * 1024 * 1024;

    /// <summary>Timers fired per event: one inactivity or absence timer per session of the standard mix's 20 events.</summary>
    public const double TimersPerEvent = 1.0 / 20;

    /// <summary>Input partitions per worker core, so the deployment can double without repartitioning.</summary>
    public const int PartitionsPerCore = 2;

    public static readonly long[] UserCounts = [1_000_000, 10_000_000, 100_000_000];
    public static readonly long[] EventRates = [10_000, 100_000, 1_000_000];

    /// <summary>The inputs the model reads; each must be on a <c>capacity</c> line.</summary>
    public static readonly string[] Keys =
    [
        "worker_us_per_event", "redis_us_per_event", "redis_commands_per_event", "redis_net_bytes_per_event",
        "user_bytes", "timer_worker_us", "timer_redis_us",
    ];

    /// <summary>Every <c>capacity key=value</c> pair in <paramref name="text"/>; a later line's value wins.</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var inputs = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.Trim();
            if (!trimmed.StartsWith("capacity ", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var pair in trimmed["capacity ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && double.TryParse(pair[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    inputs[pair[..eq]] = v;
                }
            }
        }
        return inputs;
    }

    /// <summary>One deployment: what <paramref name="users"/> users at <paramref name="eventsPerSecond"/> need.</summary>
    public sealed record Row(long Users, long EventsPerSecond, double WorkerCores, int Workers, int Partitions, double RedisOpsPerSecond,
        double RedisMegabytesPerSecond, double RedisBytes, int ShardsForCpu, int ShardsForMemory, int Shards, string RunsOutFirst);

    public static Row Compute(IReadOnlyDictionary<string, double> inputs, long users, long eventsPerSecond)
    {
        if (Keys.FirstOrDefault(k => !inputs.ContainsKey(k)) is { } missing)
        {
            throw new ArgumentException($"the capacity inputs lack {missing}: run the benchmark's throughput, timers and memory sections");
        }
        var timers = eventsPerSecond * TimersPerEvent;
        var workerCores = (eventsPerSecond * inputs["worker_us_per_event"] + timers * inputs["timer_worker_us"]) / 1e6 / Utilisation;
        var workers = Math.Max(2, (int)Math.Ceiling(workerCores / CoresPerWorker));
        var partitions = Math.Max(12, RoundUp(workers * CoresPerWorker * PartitionsPerCore, 12));
        // A Redis master runs commands on one thread: its CPU need is in cores of one thread each.
        var redisCores = (eventsPerSecond * inputs["redis_us_per_event"] + timers * inputs["timer_redis_us"]) / 1e6 / Utilisation;
        var bytes = users * inputs["user_bytes"];
        var forCpu = Math.Max(1, (int)Math.Ceiling(redisCores));
        var forMemory = Math.Max(1, (int)Math.Ceiling(bytes / BytesPerShard));
        var shards = Math.Max(forCpu, forMemory);
        // Redis Cluster needs 3 masters; one master is a plain Redis.
        shards = shards == 1 ? 1 : Math.Max(3, shards);
        var first = shards == 1 ? "neither (one Redis)" : forCpu > forMemory ? "Redis CPU" : forMemory > forCpu ? "Redis memory" : "both";
        return new Row(users, eventsPerSecond, workerCores, workers, partitions, eventsPerSecond * inputs["redis_commands_per_event"],
            eventsPerSecond * inputs["redis_net_bytes_per_event"] / 1e6, bytes, forCpu, forMemory, shards, first);
    }

    /// <summary>The markdown table of every users × rate pair.</summary>
    public static string Table(IReadOnlyDictionary<string, double> inputs)
    {
        var sb = new StringBuilder();
        sb.Append("| users | events/s | worker cores | workers (2 cores) | input partitions | Redis commands/s | Redis network MB/s | Redis memory | Redis masters (for CPU / for memory) | runs out first |\n");
        sb.Append("|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var users in UserCounts)
        {
            foreach (var rate in EventRates)
            {
                var r = Compute(inputs, users, rate);
                sb.Append(CultureInfo.InvariantCulture,
                    $"| {Count(r.Users)} | {Count(r.EventsPerSecond)} | {r.WorkerCores:F1} | {r.Workers} | {r.Partitions} | {Count((long)r.RedisOpsPerSecond)} | {r.RedisMegabytesPerSecond:F0} | {Gib(r.RedisBytes)} | {r.Shards} ({r.ShardsForCpu} / {r.ShardsForMemory}) | {r.RunsOutFirst} |\n");
            }
        }
        return sb.ToString();
    }

    private static int RoundUp(int n, int step) => (n + step - 1) / step * step;

    private static string Count(long n) => n switch
    {
        >= 1_000_000 when n % 1_000_000 == 0 => $"{n / 1_000_000}M",
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:F1}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{Math.Round(n / 1e3, MidpointRounding.AwayFromZero):F0}k"),
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    private static string Gib(double bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F1} GiB");
}
