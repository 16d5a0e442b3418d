using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>The read-only console under <c>/console</c> (docs/console.md): server-rendered HTML, no script.</summary>
public static partial class ConsoleEndpoints
{
    public const string Prefix = "/console";

    // The counters are summed over a scan of every primary (as `report` does): a page view within this reuses the last sum.
    private static readonly TimeSpan CountersFor = TimeSpan.FromSeconds(10);

    public static WebApplication MapMicroMomentsConsole(this WebApplication app)
    {
        var token = app.Configuration.GetSection(ConsoleOptions.SectionName).Get<ConsoleOptions>()?.Token;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MicroMoments.Stream.Console");
        var server = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>();
        bool? loopbackOnly = null;
        bool LoopbackOnly() => loopbackOnly ??= ConsoleAccess.LoopbackOnly(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (!LoopbackOnly() && string.IsNullOrEmpty(token))
            {
                LogOff(logger, string.Join(", ", server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []));
                return;
            }
            // Compile the pages' code off the request path: the first view would otherwise pay for it.
            _ = Task.Run(() => ConsoleWarmUp.Render(app.Services));
        });

        var reader = new ConsoleReader(app.Services);
        var group = app.MapGroup(Prefix);
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var headers = http.Response.Headers;
            // No script at all, nothing framed, and the token in a query never leaks through a Referer.
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            switch (ConsoleAccess.Decide(LoopbackOnly(), token, http.Request))
            {
                case ConsoleVerdict.Off:
                    return Results.NotFound();
                case ConsoleVerdict.Unauthorized:
                    headers.WWWAuthenticate = "Bearer realm=\"console\"";
                    return Results.Text("The console needs its token: Authorization: Bearer <token>, or ?token=<token> once.\n", statusCode: StatusCodes.Status401Unauthorized);
                case ConsoleVerdict.Forbidden:
                    return Results.Text("Wrong console token.\n", statusCode: StatusCodes.Status403Forbidden);
            }
            if (!LoopbackOnly() && http.Request.Query.ContainsKey(ConsoleAccess.QueryName))
            {
                // Trade the query token for a cookie at once, so it does not stay in the address bar or the history.
                http.Response.Cookies.Append(ConsoleAccess.CookieName, ConsoleAccess.SentToken(http.Request)!, new CookieOptions
                {
                    HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = Prefix,
                });
                var rest = http.Request.Query.Where(q => !string.Equals(q.Key, ConsoleAccess.QueryName, StringComparison.OrdinalIgnoreCase)).Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}");
                var query = string.Join('&', rest);
                return Results.Redirect(http.Request.PathBase.ToUriComponent() + http.Request.Path.ToUriComponent() + (query.Length > 0 ? "?" + query : ""));
            }
            try
            {
                return await next(context);
            }
            catch (Exception ex) when (RedisResilience.IsUnavailable(ex) || ex is RedisException)
            {
                return Results.Content(ConsoleLayout.Page("Redis unavailable", null,
                    h => h.Add($"<h1>Redis is unavailable</h1><p class=\"warn\">{ex.GetType().Name}: {ex.Message.Split('\n', 2)[0]}</p>")),
                    "text/html; charset=utf-8", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });

        group.MapGet("/", () => Html(HomePage.Render()));
        group.MapGet("/users", async (HttpRequest request, CancellationToken ct) =>
            request.Query["id"].ToString() is { Length: > 0 } id ? Html(await reader.UserPageAsync(id, ct)) : Results.Redirect(Prefix));
        group.MapGet("/users/{id}", async (string id, CancellationToken ct) => Html(await reader.UserPageAsync(id, ct)));
        group.MapGet("/rules", async (CancellationToken ct) => Html(await reader.RulesPageAsync(CountersFor, ct)));
        group.MapGet("/retention", async (CancellationToken ct) => Html(RetentionPage.Render((await reader.ReportAsync(CountersFor, ct)).Retention)));
        return app;
    }

    private static IResult Html(string page) => Results.Content(page, "text/html; charset=utf-8");

    [LoggerMessage(1, LogLevel.Warning, "The console at /console is off: the HTTP server listens beyond loopback ({Addresses}) and MicroMoments__Console__Token is not set")]
    private static partial void LogOff(ILogger logger, string addresses);
}

/// <summary>The console's reads: its own store without the worker's retries or breaker, so a page view never trips the pipeline's.</summary>
internal sealed class ConsoleReader(IServiceProvider services)
{
    private UserStateStore? _store;
    private volatile Tuple<DateTimeOffset, Report>? _counters;

    private TimeProvider Time => services.GetRequiredService<TimeProvider>();

    private UserStateStore Store => _store ??= new UserStateStore(services.GetRequiredService<IConnectionMultiplexer>(),
        services.GetRequiredService<IOptions<RedisOptions>>().Value, ResiliencePipeline.Empty, time: Time);

    public async Task<string> UserPageAsync(string userId, CancellationToken ct)
    {
        var records = await UserLookup.ReadAsync(Store, userId, ct);
        return UserPage.Render(userId, records, services.GetRequiredService<RuleEngineProvider>().Current.Rules, Time.GetUtcNow());
    }

    public async Task<string> RulesPageAsync(TimeSpan cacheFor, CancellationToken ct)
    {
        var engines = services.GetRequiredService<RuleEngineProvider>();
        var report = await ReportAsync(cacheFor, ct);
        return RulesPage.Render(new RulesStatus(engines.Current.Rules, engines.Path, engines.LoadedAt, engines.FailedReloads), report, Time.GetUtcNow());
    }

    /// <summary>The report of the counters (the one <c>report</c> prints), read again at most every <paramref name="cacheFor"/>.</summary>
    public async Task<Report> ReportAsync(TimeSpan cacheFor, CancellationToken ct)
    {
        var now = Time.GetUtcNow();
        // Two views at once may both scan; the cache only spares repeated views.
        var report = _counters is { } c && now - c.Item1 < cacheFor && now >= c.Item1 ? c.Item2 : null;
        if (report is null)
        {
            report = ResponseReport.Build(await Store.ReadCountersAsync(ct)) with
            {
                Hourly = HourlyOutcomes.Chart(await Store.ReadHourlyAsync(now, ct), now),
            };
            _counters = Tuple.Create(now, report);
        }
        return report;
    }
}

/// <summary>Renders each page once from made-up data at start, so the first person to look does not wait for the JIT.</summary>
internal static class ConsoleWarmUp
{
    public static void Render(IServiceProvider services)
    {
        var rules = services.GetRequiredService<RuleEngineProvider>().Current.Rules;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var ms = now.ToUnixTimeMilliseconds();
        var state = new Core.State.UserState
        {
            UserId = "warm-up", FirstSeenAt = ms, LastEventAt = ms,
            Timers = [new Core.State.PendingTimer { Id = "warm-up", DueAt = ms }],
            Interventions = [new Core.State.InterventionRecord { Id = "warm-up", RuleId = "warm-up", At = ms }],
            Sent = [new Core.State.SentRecord(ms, "warm-up", "in_app", "warm-up")],
        };
        const string decision = """{"userId":"warm-up","ruleId":"warm-up","ruleVersion":"-","outcome":"suppressed","reason":"cooldown","interventionId":"-","at":"2026-01-01T00:00:00.000Z","trigger":{"kind":"event","eventIds":["-"],"details":{}}}""";
        UserPage.Render("warm-up", [new UserRecord("warm-up", state, [decision])], rules, now);
        var counters = new Dictionary<string, Dictionary<string, long>>
        {
            ["warm-up"] = new() { ["control|matched"] = 2, ["control|emitted"] = 1, ["control|suppressed.cooldown"] = 1, ["short|emitted"] = 1 },
        };
        var report = ResponseReport.Build(counters);
        RulesPage.Render(new RulesStatus(rules, "-", now, 0), report, now);
        RetentionPage.Render(report.Retention);
    }
}
