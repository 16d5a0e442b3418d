using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using PuppeteerSharp;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests.Console;

/// <summary>
/// The console in a real browser: Debian's chromium (tests/run.sh installs it), driven by PuppeteerSharp; nothing is
/// downloaded. Against a worker that processed a known stream, it finds a user through the form and sees why a nudge
/// was held back, then saves screenshots of both pages as test artifacts.
/// </summary>
// Its subject is the page in a browser. On a cluster, the console's reads of a real user's state and decisions are the
// explain command's (UserLookup), which the cluster pass runs in other tests.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class ConsoleBrowserTests(KafkaFixture kafka, RedisFixture redis, ITestOutputHelper output)
{
    private const string Rules = """
        version: console-demo
        rules:
          - id: ping-reply
            description: Answers a ping; at most once an hour.
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
            policy: { cooldown: 1h }
            experiment:
              name: ping-copy
              holdout: 0.2
              variants:
                - { name: control, weight: 1 }
                - { name: short, weight: 1, message: { body: "p!" } }
            conversion: { event: Upgraded, within: 1d }
          - id: help-offer
            trigger: { kind: count, event: Help Viewed, times: 2, within: 10m }
            action: { moment: clarification, channel: in_app, message: { body: "Need a hand?" } }
            policy: { oncePerUser: true }
        """;

    [Fact]
    public async Task Console_InChromium_FindsAUserAndShowsTheGateThatHeldANudgeBack()
    {
        var chromium = ChromiumPath.Find();
        var dir = Directory.CreateTempSubdirectory("mm-console-").FullName;
        var rulesPath = Path.Combine(dir, "rules.yaml");
        await File.WriteAllTextAsync(rulesPath, Rules);
        var clock = new FakeTimeProvider(T0);
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 2);
        using var commands = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, clock, new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = rulesPath });

        // 80 users over the last 8 minutes ping twice (the second is held back by the cooldown) and look for help; then react
        // to what they were sent.
        const int users = 80;
        for (var i = 0; i < users; i++)
        {
            var user = $"user-{i:00}";
            var at = T0.AddSeconds(-480 + i * 6);
            await streams.ProduceAsync(user, Track(user, "Ping", at));
            await streams.ProduceAsync(user, Track(user, "Help Viewed", at.AddSeconds(2)));
            await streams.ProduceAsync(user, Track(user, "Help Viewed", at.AddSeconds(3)));
            await streams.ProduceAsync(user, Track(user, "Ping", at.AddSeconds(5)));
            await streams.ProduceAsync(user, Track(user, "Help Viewed", at.AddSeconds(6))); // starts the count again: a near miss
        }
        await Eventually.TrueAsync(() => decisions.Records.Count >= users * 3, TimeSpan.FromSeconds(60), "every user's decisions");
        foreach (var command in commands.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).Where(c => c.RuleId == "ping-reply"))
        {
            var user = command.UserId;
            var n = int.Parse(user[^2..], System.Globalization.CultureInfo.InvariantCulture);
            var at = T0.AddSeconds(-480 + n * 6 + 60);
            var properties = new { interventionId = command.InterventionId, ruleId = command.RuleId };
            await streams.ProduceAsync(user, Track(user, "Intervention Delivered", at, properties));
            if (n % 3 != 2)
            {
                await streams.ProduceAsync(user, Track(user, n % 3 == 0 ? "Intervention Clicked" : "Intervention Dismissed", at.AddSeconds(1), properties));
            }
            if (command.Variant == "short" && n % 2 == 0)
            {
                await streams.ProduceAsync(user, Track(user, "Upgraded", at.AddSeconds(2)));
            }
        }
        for (var n = 0; n < users; n += 5) // a base rate of conversions in every arm, the holdout's ghosts too
        {
            await streams.ProduceAsync($"user-{n:00}", Track($"user-{n:00}", "Upgraded", T0.AddSeconds(-480 + n * 6 + 63)));
        }
        var suppressed = decisions.Records.Select(r => JsonDocument.Parse(r.Message.Value).RootElement)
            .First(d => d.GetProperty("outcome").GetString() == "suppressed" && d.GetProperty("reason").GetString() == "cooldown");
        var target = suppressed.GetProperty("userId").GetString()!;
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync(target, default))?.State.Interventions?.Any(r => r.Status is not null) == true,
            TimeSpan.FromSeconds(30), "the target user's feedback is stored");

        var baseUri = ConsoleAccessTests.LoopbackAddress(worker);
        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Browser = SupportedBrowser.Chromium,
            UserDataDir = Path.Combine(dir, "profile"),
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"], // root in a container: no sandbox
        });
        await using var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });

        await page.GoToAsync(new Uri(baseUri, "/console").ToString());
        await page.TypeAsync("#user-id", target);
        await Task.WhenAll(page.WaitForNavigationAsync(), page.ClickAsync("header form button[type=submit]"));

        Assert.Equal(target, await page.EvaluateExpressionAsync<string>("document.querySelector('#user').textContent"));
        var gate = await page.EvaluateExpressionAsync<string>("document.querySelector('#decisions tr.decision[data-outcome=suppressed] td.gate').textContent");
        Assert.Equal("cooldown", gate);
        Assert.Contains("stage", await page.EvaluateExpressionAsync<string>("document.querySelector('#derived').innerText"), StringComparison.Ordinal);
        Assert.StartsWith("2 × Help Viewed", await page.EvaluateExpressionAsync<string>("document.querySelector('#decisions tr[data-rule=help-offer] td.trigger').textContent"), StringComparison.Ordinal);
        Assert.StartsWith("1 of 2 within 10 min", await page.EvaluateExpressionAsync<string>("document.querySelector('#near-misses td.progress').textContent"), StringComparison.Ordinal);
        var userShot = await ScreenshotAsync(page, "console-user.png");

        await page.GoToAsync(new Uri(baseUri, "/console/rules").ToString());
        Assert.Equal(1, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#rules tr[data-rule=\"ping-reply\"]').length"));
        Assert.True(await page.EvaluateExpressionAsync<int>("document.querySelectorAll('svg.whisker circle').length") > 0);
        var rulesShot = await ScreenshotAsync(page, "console-rules.png");
        output.WriteLine($"screenshots: {userShot}, {rulesShot}");
        Assert.True(new FileInfo(userShot).Length > 10_000 && new FileInfo(rulesShot).Length > 10_000);
    }

    /// <summary>Full-page PNG in the artifacts folder: MICROMOMENTS_TEST_ARTIFACTS (tests/run.sh sets it) or the test's output folder.</summary>
    private static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var folder = Environment.GetEnvironmentVariable("MICROMOMENTS_TEST_ARTIFACTS") is { Length: > 0 } a ? a : Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        await page.ScreenshotAsync(path, new ScreenshotOptions { FullPage = true });
        return path;
    }
}

/// <summary>The system's Chromium: MICROMOMENTS_CHROMIUM, else Debian's. The tests never download a browser.</summary>
internal static class ChromiumPath
{
    public static string Find()
    {
        string?[] candidates = [Environment.GetEnvironmentVariable("MICROMOMENTS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"];
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c))
            ?? throw new InvalidOperationException("no Chromium: install Debian's chromium package (tests/run.sh does: apt-get install -y chromium) or set MICROMOMENTS_CHROMIUM");
    }
}
