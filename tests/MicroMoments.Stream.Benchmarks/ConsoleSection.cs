using System.Diagnostics;
using System.Text.Json;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Redis;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The console's user page for a user who sent 10,000 events, and the rules page, timed over HTTP against the real
/// worker and Redis: what a person waits for. The target is under 200 ms for the user page.
/// </summary>
public static class ConsoleSection
{
    public const int Events = 10_000;
    private const string User = "console-heavy-user";

    public static async Task RunAsync(BenchInfrastructure infra)
    {
        var (input, _) = infra.Topics("console");
        await using var worker = await WorkerUnderTest.StartAsync(infra, "console");
        var now = DateTimeOffset.UtcNow;
        string[] tasks = ["calendar-sync", "notifications-setup", "import-contacts"];
        for (var i = 0; i < Events; i++)
        {
            // One event a second up to now, so the newest trigger rules and the older ones are held back as stale.
            var at = now.AddSeconds(i - Events);
            object e = (i % 10) switch
            {
                0 or 1 or 2 => new { type = "track", @event = "Task Failed", properties = new { task = tasks[i % 3] } },
                3 or 4 => new { type = "track", @event = "Feature Used", properties = new { feature = $"feature-{i % 250}" } },
                5 => new { type = "track", @event = "Task Completed", properties = new { task = tasks[i % 3], durationMs = 20_000 + i % 7_000 } },
                // Traits up to the state's bound (100, of up to 256 characters), markup included: the page escapes them all.
                6 => new { type = "identify", traits = new Dictionary<string, string> { [$"trait-{i % 130}"] = $"<b>{new string('x', 200)} {i}</b>" } },
                7 => new { type = "track", @event = "Product Added", properties = new { cartId = $"c-{i % 40}" } },
                _ => new { type = "screen", name = i % 2 == 0 ? "Home" : "Welcome" },
            };
            var json = JsonSerializer.SerializeToUtf8Bytes(Merge(e, at, i));
            infra.Produce(input, User, json);
        }
        infra.Producer.Flush(TimeSpan.FromSeconds(30));
        await worker.WaitForAsync(Events, TimeSpan.FromMinutes(5));

        var store = worker.Services.GetRequiredService<UserStateStore>();
        var found = await store.FindAllAsync(User, default);
        var stateBytes = found.Where(f => f.State is not null).Sum(f => UserStateSerializer.Serialize(f.State!).Length);
        var decisions = (await Task.WhenAll(found.Select(f => store.RecentDecisionsAsync(f.Shard, User, default)))).Sum(d => d.Length);
        var address = new Uri(worker.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var http = new HttpClient { BaseAddress = address };

        // The first request of the process pays the JIT of the HTTP client (in this process too) and of Kestrel's routing.
        var firstRequest = await TimeAsync(http, "/console", 1);
        var cold = await TimeAsync(http, $"/console/users/{User}", 1);
        var user = await TimeAsync(http, $"/console/users/{User}", 200);
        var rulesFirst = await TimeAsync(http, "/console/rules", 1);
        var rules = await TimeAsync(http, "/console/rules", 50);
        Console.WriteLine($"console: a user with {Events:N0} events ({stateBytes:N0} B of state in Redis, {decisions} decisions kept), over HTTP on loopback:");
        Console.WriteLine(Stats.Invariant($"  user page   {user.Bytes,7:N0} B  p50 {user.P50:F1} ms  p99 {user.P99:F1} ms  max {user.Max:F1} ms  (target < 200 ms; 200 views after 5 warm-up); the first view {cold.Max:F1} ms, after a first request to /console of {firstRequest.Max:F1} ms"));
        Console.WriteLine(Stats.Invariant($"  rules page  {rules.Bytes,7:N0} B  first {rulesFirst.Max:F1} ms (counters scanned), then p50 {rules.P50:F1} ms  p99 {rules.P99:F1} ms (counters cached 10 s)"));
        Console.WriteLine(Stats.Invariant($"console_user_page_p99_ms={user.P99:F1}"));
    }

    private static Dictionary<string, object?> Merge(object e, DateTimeOffset at, int i)
    {
        var d = JsonSerializer.SerializeToElement(e).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        d["userId"] = User;
        d["messageId"] = $"console-{i}";
        d["timestamp"] = at.ToString("O");
        d["context"] = new { device = new { type = "mobile" }, timezone = "Europe/Berlin" };
        return d;
    }

    private static async Task<(double P50, double P99, double Max, int Bytes)> TimeAsync(HttpClient http, string path, int views)
    {
        var bytes = 0;
        for (var i = 0; i < (views > 1 ? 5 : 0); i++)
        {
            bytes = (await http.GetByteArrayAsync(new Uri(path, UriKind.Relative))).Length;
        }
        var ms = new double[views];
        for (var i = 0; i < views; i++)
        {
            var started = Stopwatch.GetTimestamp();
            bytes = (await http.GetByteArrayAsync(new Uri(path, UriKind.Relative))).Length;
            ms[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        Array.Sort(ms);
        return (Stats.Percentile(ms, 0.5), Stats.Percentile(ms, 0.99), ms[^1], bytes);
    }
}
