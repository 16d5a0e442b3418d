using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Demo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The demo's stand-in delivery service: its plan, its timing and cancellations, and the closed loop on a real worker.</summary>
// Its subject is the demo's delivery stand-in and its closed loop; the worker and report it runs have cluster tests of their own.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class DemoDeliveryTests(KafkaFixture kafka, RedisFixture redis)
{
    private static byte[] Command(string id, DateTimeOffset decided, TimeSpan delay, TimeSpan? expiry = null, string rule = "r", string variant = "control") =>
        InterventionCloudEvents.Encode(new InterventionCommand
        {
            InterventionId = id, UserId = $"user-{id}", RuleId = rule, RuleVersion = "v", Moment = "reward", Channel = "in_app", Priority = 50,
            Message = new InterventionMessage("t", "b", null), DeliverAfter = decided + delay, ExpiresAt = decided + delay + (expiry ?? TimeSpan.FromHours(1)),
            Trigger = new TriggerInfo("event", [], new Dictionary<string, object>()), User = new UserSummary("explorer", "newcomer", null, null),
            Intent = "know", Variant = variant, DecidedAt = decided,
        });

    private static string FirstDeliveredId(int from = 0) =>
        Enumerable.Range(from, 100).Select(i => $"i-{i}").First(id => DeliveryPlan.For(id, $"user-{id}", "r", "control").Count >= 3);

    [Fact]
    public void Plan_TenThousandCommands_PlausibleSharesAndReproducible()
    {
        var plans = Enumerable.Range(0, 10_000).Select(i => DeliveryPlan.For($"id-{i}", "u", "r", "control")).ToList();
        double Share(string e) => plans.Count(p => p.Any(s => s.Event == e)) / 10_000.0;

        Assert.InRange(Share("Intervention Delivered"), 0.94, 0.96);
        Assert.InRange(Share("Intervention Displayed"), 0.69, 0.71);
        Assert.InRange(Share("Intervention Clicked"), DeliveryPlan.ClickShare("r", "control") - 0.015, DeliveryPlan.ClickShare("r", "control") + 0.015);
        Assert.InRange(Share("Intervention Dismissed"), 0.09, 0.11);
        Assert.InRange(Share("Intervention Converted"), 0.01, Share("Intervention Clicked") / 2);
        Assert.Equal(plans[42], DeliveryPlan.For("id-42", "u", "r", "control"));
        Assert.NotEqual(DeliveryPlan.ClickShare("r", "control"), DeliveryPlan.ClickShare("r", "bold"));
    }

    [Fact]
    public void Receive_DeferredCommand_NothingBeforeDeliverAfterThenItsFeedback()
    {
        var clock = new FakeTimeProvider(T0);
        var service = new DemoDeliveryService(Options.Create(new KafkaOptions()), clock);
        var id = FirstDeliveredId();

        service.Receive(Command(id, T0, TimeSpan.FromHours(9)));

        Assert.Empty(service.TakeDue(T0.AddHours(9)));
        var due = service.TakeDue(T0.AddHours(9).AddMinutes(1));
        Assert.Equal(DeliveryPlan.For(id, $"user-{id}", "r", "control").Select(s => s.Event), due.Select(d => d.Feedback.Event));
        Assert.All(due, d => Assert.True(d.At > T0.AddHours(9)));
        var json = JsonDocument.Parse(DemoDeliveryService.Feedback(due[0].Feedback, due[0].At)).RootElement;
        Assert.Equal(("track", "Intervention Delivered", $"user-{id}"), (json.GetProperty("type").GetString(), json.GetProperty("event").GetString(), json.GetProperty("userId").GetString()));
        Assert.Equal((id, "r"), (json.GetProperty("properties").GetProperty("interventionId").GetString(), json.GetProperty("properties").GetProperty("ruleId").GetString()));
    }

    [Fact]
    public void Receive_CancelledBeforeDelivery_NothingReported()
    {
        var clock = new FakeTimeProvider(T0);
        var service = new DemoDeliveryService(Options.Create(new KafkaOptions()), clock);
        var (cancelled, kept) = (FirstDeliveredId(), FirstDeliveredId(50));
        service.Receive(Command(cancelled, T0, TimeSpan.FromMinutes(30)));
        service.Receive(Command(kept, T0, TimeSpan.FromMinutes(30)));

        service.Receive(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            specversion = "1.0", type = InterventionCancellation.EventType, source = "micromoments-stream", id = $"{cancelled}:cancelled",
            data = new { interventionId = cancelled, userId = $"user-{cancelled}", ruleId = "r", reason = "cancel_on" },
        })));

        var due = service.TakeDue(T0.AddHours(1));
        Assert.NotEmpty(due);
        Assert.All(due, d => Assert.Equal(kept, d.Feedback.InterventionId));
    }

    [Fact]
    public void Printer_CommandThenItsCancellationAndGarbage_OneReadableLineEach()
    {
        var cancellation = new InterventionCancellation("i-7", "user-i-7", "r", "cancel_on:order completed", T0.AddMinutes(5)).Encode();

        var command = InterventionConsolePrinter.Format(Command("i-7", T0, TimeSpan.FromHours(9)));
        var cancelled = InterventionConsolePrinter.Format(cancellation);
        var garbage = InterventionConsolePrinter.Format(Encoding.UTF8.GetBytes("{\"type\":"));

        Assert.Contains("[r] (deliver after", command, StringComparison.Ordinal);
        Assert.Contains("user-i-7", cancelled, StringComparison.Ordinal);
        Assert.Contains("cancelled: i-7 (cancel_on:order completed)  [r]", cancelled, StringComparison.Ordinal);
        Assert.StartsWith("(a record the printer cannot read", garbage, StringComparison.Ordinal);
    }

    [Fact]
    public void Personas_AtEveryHourOfTheDay_LiveWhereItIsDaytime()
    {
        for (var hour = 0; hour < 24; hour++)
        {
            var start = new DateTimeOffset(2026, 7, 1, hour, 30, 0, TimeSpan.Zero);
            var zone = Personas.DaytimeZone(start);

            Assert.InRange(TimeZones.Local(start, zone).Hour, 10, 18);
            Assert.All(Personas.Wave(1, start), e => Assert.Equal(zone, e.Body["context"]!["timezone"]!.GetValue<string>()));
        }
        Assert.Equal("Europe/Berlin", Personas.DaytimeZone(T0)); // 11:00 there: the README's example
    }

    [Fact]
    public void Receive_ExpiresBeforeItsResponses_OnlyWhatFitsIsReported()
    {
        var service = new DemoDeliveryService(Options.Create(new KafkaOptions()), new FakeTimeProvider(T0));
        var id = FirstDeliveredId();

        service.Receive(Command(id, T0, TimeSpan.Zero, expiry: TimeSpan.FromSeconds(1.5)));

        Assert.Equal(["Intervention Delivered"], service.TakeDue(T0.AddHours(1)).Select(d => d.Feedback.Event));
    }

    [Fact]
    public void Demo_WavesWithTheServicesFeedbackOffline_ExperimentArmsAndClicks()
    {
        var sim = new OfflineSimulation(RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml")));
        var service = new DemoDeliveryService(Options.Create(new KafkaOptions()), new FakeTimeProvider(T0));
        var line = 0L;
        var sent = 0;
        void Feed(string json) => Assert.True(sim.Feed(json, ++line).IsValid);
        void Deliver(DateTimeOffset until)
        {
            for (; sent < sim.Interventions.Count; sent++)
            {
                service.Receive(InterventionCloudEvents.Encode(sim.Interventions[sent]));
            }
            foreach (var (feedback, at) in service.TakeDue(until))
            {
                Feed(DemoDeliveryService.Feedback(feedback, at));
            }
        }
        for (var wave = 1; wave <= 10; wave++)
        {
            var start = T0.AddSeconds(20 * wave);
            foreach (var e in Personas.Wave(wave, start).OrderBy(e => e.SendAfter))
            {
                Deliver(start + e.SendAfter);
                Feed(e.Body.ToJsonString());
            }
            Deliver(start.AddSeconds(19));
        }

        var report = ResponseReport.Build(sim.Counters);
        // simulate checks no staleness, so here the skeptic's back-dated sign-up does trigger an inactivity nudge; it
        // is a best_time rule with a thin history, so it waits for the send window and leaves the hourly cap's slots to
        // the tooltips: three dismissed, the pause's threshold (the pause itself is checked on the live demo below).
        Assert.Equal(3, sim.Feedback.Count(f => f.UserId == Personas.Skeptic && f.Feedback == "dismissed"));
        Assert.Superset(new HashSet<string> { "control", "short" }, report.Variants.Where(v => v.Counts.RuleId == "help-center-demo").Select(v => v.Counts.Variant).ToHashSet());
        Assert.Contains(report.Variants, v => v.ClickThrough > 0);
    }

    [Fact]
    public async Task Demo_RunsForAWhile_TheReportShowsClicksArmsAndAPause()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0), new Dictionary<string, string?>
        {
            ["MicroMoments:Demo:Enabled"] = "true",
            ["MicroMoments:Demo:WaveInterval"] = "00:00:02",
        }, b => b.Services.AddSingleton(TimeProvider.System)); // the demo paces its waves in real time
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();

        JsonElement variants = default;
        await Eventually.TrueAsync(async () =>
        {
            using var stdout = new StringWriter();
            await ReportCommand.RunAsync(["--json"], config, stdout, TextWriter.Null);
            variants = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("variants").Clone();
            return variants.EnumerateArray().Sum(v => v.GetProperty("counts").GetProperty("clicked").GetInt32()) > 0
                && variants.EnumerateArray().Any(v => v.GetProperty("counts").GetProperty("suppressed").TryGetProperty(Reasons.DismissalPause, out _));
        }, TimeSpan.FromSeconds(120), "a click and a dismissal pause counted in the report");

        Assert.Contains(variants.EnumerateArray(), v => v.GetProperty("clickThrough").ValueKind == JsonValueKind.Number && v.GetProperty("clickThrough").GetDouble() > 0);
        Assert.Contains(variants.EnumerateArray(), v => v.GetProperty("counts").GetProperty("delivered").GetInt32() > 0);
        Assert.Contains(variants.EnumerateArray(), v => v.GetProperty("counts").GetProperty("ruleId").GetString() == "help-center-demo"
            && v.GetProperty("counts").GetProperty("variant").GetString() != "control");
    }
}
