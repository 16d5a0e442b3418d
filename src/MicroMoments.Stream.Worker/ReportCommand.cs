using System.Globalization;
using System.Text.Json;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Configuration;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// <c>report [--json]</c>: per rule and variant the click-through, dismissal and conversion rates with a
/// two-proportion z-test and 95 % interval against control and holdout; how often each rule triggers;
/// retention by sign-up day and of treated against control users. Read from the analytics counters in Redis, or with
/// <c>--decisions &lt;file&gt;</c> folded from a decisions file (<see cref="AuditLog"/>) and with <c>--events &lt;file&gt;</c>
/// from raw events (<see cref="RetentionEvents"/>, the worker's retention counting): one report builder,
/// <see cref="ResponseReport"/>, for every source.
/// </summary>
public static class ReportCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextWriter stdout, TextWriter stderr)
    {
        var options = SimulationRun.Options(args, "--json");
        var log = options.TryGetValue("--decisions", out var path) ? ReadDecisions(path, stderr) : null;
        if (path is not null && log is null)
        {
            return 2;
        }
        IReadOnlyDictionary<string, Dictionary<string, long>>? counters;
        if (options.TryGetValue("--events", out var events))
        {
            var fromFiles = log?.Counters() ?? new(StringComparer.Ordinal);
            if (!ReadEvents(events, log, fromFiles, stderr))
            {
                return 2;
            }
            counters = fromFiles;
        }
        else
        {
            counters = log?.Counters() ?? await ReadRedisAsync(configuration, stderr);
        }
        if (counters is null)
        {
            return 2;
        }
        var report = ResponseReport.Build(counters);
        if (options.ContainsKey("--json"))
        {
            stdout.WriteLine(JsonSerializer.Serialize(report, Json));
        }
        else
        {
            Write(report, stdout, responses: events is null || log is not null);
        }
        return 0;
    }

    /// <summary>Adds the retention counters of an events file (and the decisions made on it, when given) to <paramref name="counters"/>.</summary>
    private static bool ReadEvents(string path, AuditLog? log, Dictionary<string, Dictionary<string, long>> counters, TextWriter stderr)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stderr.WriteLine($"report: cannot read --events {path}: {ex.Message}");
            return false;
        }
        var fold = new RetentionEvents(log?.Decisions ?? []);
        fold.AddFile(bytes);
        foreach (var (line, error) in fold.Rejected)
        {
            stderr.WriteLine($"line {line}: skipped, as the worker would dead-letter it: {error}");
        }
        fold.AddTo(counters);
        return true;
    }

    private static async Task<IReadOnlyDictionary<string, Dictionary<string, long>>?> ReadRedisAsync(IConfiguration configuration, TextWriter stderr)
    {
        var options = configuration.GetSection(RedisOptions.SectionName).Get<RedisOptions>() ?? new RedisOptions();
        if (options.IsEmbedded)
        {
            stderr.WriteLine("report reads from Redis: set MicroMoments__Redis__Configuration (or give --decisions <file>)");
            return null;
        }
        using var redis = await ConnectionMultiplexer.ConnectAsync(options.Configuration!);
        var store = new UserStateStore(redis, options, ResiliencePipeline.Empty);
        return await store.ReadCountersAsync(CancellationToken.None);
    }

    /// <summary>The records of a decisions file; a line that is no record is reported with its number and skipped.</summary>
    private static AuditLog? ReadDecisions(string path, TextWriter stderr)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stderr.WriteLine($"report: cannot read --decisions {path}: {ex.Message}");
            return null;
        }
        var log = AuditLog.Read(lines);
        foreach (var (line, error) in log.Rejected)
        {
            stderr.WriteLine($"line {line}: not a decision or feedback record: {error}");
        }
        return log;
    }

    /// <summary>The report as text; <paramref name="responses"/> false leaves out the response tables (no decisions to make them from).</summary>
    public static void Write(Report report, TextWriter o, bool responses = true)
    {
        if (responses)
        {
            WriteResponses(report, o);
            o.WriteLine();
        }
        WriteRetention(report.Retention, o);
    }

    private static string P(double? v) => v is { } x ? x.ToString("P1", CultureInfo.InvariantCulture) : "-";

    private static string C(Comparison? c) => c is null ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"{c.Difference * 100:+0.0;-0.0} pt [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}] p={c.PValue:0.000}");

    private static void WriteResponses(Report report, TextWriter o)
    {
        o.WriteLine("Responses by rule and variant (each intervention's click, dismissal and conversion counted once; CTR and dismissals over delivered, conversions over sent; holdout: over ghosts; cancel: sent, then withdrawn before deliverAfter)");
        o.WriteLine($"{"rule",-32} {"variant",-10} {"matched",8} {"sent",7} {"held",6} {"cancel",6} {"CTR",7} {"dismiss",8} {"conv",7}  {"conversion vs control",-34} {"conversion vs holdout",-34}");
        foreach (var v in report.Variants)
        {
            var c = v.Counts;
            o.WriteLine($"{c.RuleId,-32} {c.Variant,-10} {c.Matched,8} {c.Emitted + c.Deferred,7} {c.HeldOut,6} {c.Cancelled,6} {P(v.ClickThrough),7} {P(v.DismissalRate),8} {P(v.ConversionRate),7}  {C(v.ConversionVsControl),-34} {C(v.ConversionVsHoldout),-34}");
        }
        foreach (var b in report.Bandits)
        {
            o.WriteLine();
            o.WriteLine($"Bandit allocation of {b.RuleId} (Thompson sampling on conversions; P(best): the share of {BanditReport.Draws} posterior draws in which the arm is highest)");
            o.WriteLine($"{"variant",-10} {"sent",7} {"conv",7} {"rate",7} {"P(best)",8}");
            foreach (var a in b.Arms)
            {
                o.WriteLine($"{a.Variant,-10} {a.Sent,7} {a.Converted,7} {P(a.ConversionRate),7} {P(a.ProbabilityBest),8}");
            }
            o.WriteLine($"{"new assignments by day",-22} {"total",7}  " + string.Join(" ", b.Arms.Select(a => $"{a.Variant,10}")));
            foreach (var d in b.Days)
            {
                o.WriteLine($"{d.Day,-22} {d.Assigned,7}  " + string.Join(" ", b.Arms.Select(a => $"{P(d.Share.GetValueOrDefault(a.Variant)),10}")));
            }
        }
        if (report.Overall is { } u)
        {
            o.WriteLine();
            o.WriteLine("Overall uplift: treated users' commands against the global control group's ghosts (conversions over sent / over ghosts)");
            o.WriteLine($"{"treated",-10} {u.Sent,8} sent {u.SentConverted,7} converted {P(u.TreatedRate),7}");
            o.WriteLine($"{"control",-10} {u.Ghosts,8} ghosts {u.GhostsConverted,5} converted {P(u.ControlRate),7}");
            o.WriteLine($"{"uplift",-10} {C(u.Uplift)}");
        }
        o.WriteLine();
        o.WriteLine("Trigger frequency (triage)");
        o.WriteLine($"{"rule",-32} {"matched",8} {"share",7} {"sent",7} {"suppressed",10}");
        foreach (var t in report.Triggers)
        {
            o.WriteLine($"{t.RuleId,-32} {t.Matched,8} {P(t.Share),7} {t.Emitted,7} {t.Suppressed,10}");
        }
    }

    private static void WriteRetention(RetentionReport r, TextWriter o)
    {
        static string Cell(RetentionCell c) => c.Rate is { } rate ? P(rate.Value) : "-";
        static string Interval(RetentionCell c) => c.Rate is { } rate
            ? string.Create(CultureInfo.InvariantCulture, $"{rate.Value * 100:0.0}% [{rate.Low * 100:0.0}, {rate.High * 100:0.0}] n={c.Users}")
            : "-";
        var days = string.Concat(r.Days.Select(d => $" {"day " + d,8}"));
        o.WriteLine($"Retention by sign-up day (UTC; retained at day N: active on a day N or more days after the sign-up day; data through {r.ObservedThrough ?? "-"}; -: day N not observable yet)");
        o.WriteLine($"{"signed up",-12} {"users",7}{days}");
        foreach (var c in r.Cohorts.Append(r.AllCohorts).OfType<RetentionCurve>())
        {
            o.WriteLine($"{c.Name,-12} {c.Users,7}{string.Concat(c.Cells.Select(x => $" {Cell(x),8}"))}");
        }
        if (r.Cohorts.Count == 0)
        {
            o.WriteLine("(no sign-ups counted; a decisions file holds none: give --events <file>)");
        }
        o.WriteLine();
        o.WriteLine("Retention of treated users against control (from the UTC day of each user's first command sent, or first ghost; 95 % Wilson intervals; differences with 95 % interval and p-value)");
        if (r.Arms.Count == 0)
        {
            o.WriteLine("(no treated or control users counted: treated vs control needs decisions, give --decisions <file> with --events <file>)");
            return;
        }
        var width = Math.Max("* (every rule)".Length, r.Arms.Max(a => a.RuleId.Length));
        o.WriteLine($"{"rule".PadRight(width)} {"arm",-17} {"users",6}{string.Concat(r.Days.Select(d => $" {"day " + d,-31}"))}".TrimEnd());
        foreach (var a in r.Arms)
        {
            var rule = a.RuleId == RetentionArms.Program ? "* (every rule)" : a.RuleId;
            foreach (var arm in new[] { a.Treated, a.GlobalControl, a.Holdout }.OfType<RetentionCurve>())
            {
                o.WriteLine($"{rule.PadRight(width)} {arm.Name,-17} {arm.Users,6}{string.Concat(arm.Cells.Select(x => $" {Interval(x),-31}"))}".TrimEnd());
                rule = "";
            }
            foreach (var (name, comparisons) in new[] { ("vs global_control", a.VsGlobalControl), ("vs holdout", a.VsHoldout) })
            {
                if (comparisons.Any(c => c is not null))
                {
                    o.WriteLine($"{rule.PadRight(width)} {name,-17} {"",6}{string.Concat(comparisons.Select(c => $" {C(c),-31}"))}".TrimEnd());
                }
            }
        }
    }
}
