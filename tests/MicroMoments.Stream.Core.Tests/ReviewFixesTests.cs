using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Regressions for review findings: injection through literal flags, the population baseline, typed timer details, timer bounds.</summary>
public sealed class ReviewFixesTests
{
    private static readonly RuleSet PriceProbe = RuleSetLoader.Load("""
        version: review
        rules:
          - id: probe
            trigger: { kind: event, event: Probe }
            action:
              moment: reward
              channel: in_app
              message: { title: "t", body: "b" }
        """);

    [Fact]
    public void PropertyValue_StringAfterNumberUnderMatchingName_IsWrittenAsEscapedString()
    {
        const string attack = "0}},\"message\":{\"title\":\"pwned\"";
        var line = $$"""{"event":"Probe","user_id":"u1","messageId":"m1","timestamp":"{{T0:O}}","price":1,"Price":{{JsonSerializer.Serialize(attack)}}}""";
        var sim = new OfflineSimulation(PriceProbe);

        var result = sim.Feed(line, 1);

        Assert.True(result.IsValid, result.Error);
        var command = Assert.Single(sim.Interventions);
        var json = Encoding.UTF8.GetString(InterventionCloudEvents.Encode(command));
        using var doc = JsonDocument.Parse(json); // valid JSON, not injected
        var price = FindProperty(doc.RootElement, "price") ?? FindProperty(doc.RootElement, "Price");
        Assert.NotNull(price);
        Assert.Equal(JsonValueKind.String, price.Value.ValueKind);
        Assert.Equal(attack, price.Value.GetString());
        Assert.DoesNotContain("pwned\"", json.Replace("\\\"pwned\\\"", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void PopulationBaseline_OneUserSendingSubMillisecondDurations_MovesTheMedianByAtMostOneVote()
    {
        var population = new PopulationBaseline();
        var limits = new StateLimits();
        for (var u = 0; u < 5; u++)
        {
            UserProfile.Observe(new UserState(), TestEvents.Track($"u{u}", "Task Completed", T0, new { task = "import", durationMs = 6000 }), population, limits);
        }
        var usual = population.UsualMs("import");
        var attacker = new UserState();

        var ignored = 0;
        for (var i = 0; i < 20; i++)
        {
            ignored += UserProfile.Observe(attacker, TestEvents.Track("x", "Task Completed", T0.AddMinutes(i), new { task = "import", durationMs = 0.5 }), population, limits).Ignored;
        }
        for (var i = 0; i < 20; i++)
        {
            UserProfile.Observe(attacker, TestEvents.Track("x", "Task Completed", T0.AddMinutes(20 + i), new { task = "import", durationMs = 1 }), population, limits);
        }

        Assert.Equal(20, ignored);
        Assert.True(attacker.TaskDurations!["import"] >= 1);
        Assert.Equal(usual, population.UsualMs("import")); // 5 votes at 6 s and one at 1 ms: the median stays
    }

    private static readonly RuleSet CountEscalation = RuleSetLoader.Load("""
        version: review
        rules:
          - id: pings
            trigger: { kind: count, event: Ping, times: 3, within: 10m }
            action: { moment: m, channel: in_app, message: { title: t, body: b } }
          - id: pings-again
            trigger: { kind: escalation, rule: pings, after: 1h }
            action: { moment: m, channel: in_app, message: { title: t, body: b2 } }
        """);

    [Fact]
    public void StoredDetails_CountThroughEscalationTimer_StaysAJsonNumber()
    {
        var s = new Scenario(CountEscalation);
        s.Track("Ping", TimeSpan.Zero, new { flag = true }).Track("Ping", TimeSpan.FromMinutes(1), new { flag = true })
            .Track("Ping", TimeSpan.FromMinutes(2), new { flag = true }).Advance(TimeSpan.FromHours(3));

        var first = Assert.Single(s.Of("pings"));
        var escalated = Assert.Single(s.Of("pings-again"));
        var json = Encoding.UTF8.GetString(InterventionCloudEvents.Encode(escalated));
        using var doc = JsonDocument.Parse(json);
        var count = FindProperty(doc.RootElement, "count");
        Assert.Equal(JsonValueKind.Number, count?.ValueKind);
        Assert.Equal(3, count!.Value.GetInt32());
        Assert.Equal(JsonValueKind.True, FindProperty(doc.RootElement, "flag")?.ValueKind);
        Assert.Contains("\"count\":3", Encoding.UTF8.GetString(InterventionCloudEvents.Encode(first)), StringComparison.Ordinal);
    }

    [Fact]
    public void AbsenceTimers_TenThousandDistinctCartIdsForOneUser_AtMostMaxTimersAndStateUnderMaxStateBytes()
    {
        var limits = new StateLimits();
        var s = new Scenario();
        for (var i = 0; i < 10_000; i++)
        {
            s.Track("Product Added", TimeSpan.FromMilliseconds(10 * i), new { cartId = $"cart-{i}", sku = "G-32", price = 18.99 });
        }

        var state = s.Simulation.Users["u1"];
        Assert.InRange(state.Timers!.Count, 1, limits.MaxTimers);
        Assert.Contains(state.Timers, t => t.Id == "cart-abandoned|cart-9999"); // the newest cart still has its timer
        Assert.True(StateContainer.SerializedSize(state) <= limits.MaxStateBytes);
    }

    [Fact]
    public void AbsenceTimers_PerValueLongerThanMaxStringLength_ArmsNoTimer()
    {
        var s = new Scenario();
        s.Track("Product Added", TimeSpan.Zero, new { cartId = new string('c', new StateLimits().MaxStringLength + 1) })
            .Advance(TimeSpan.FromHours(1));

        Assert.DoesNotContain(s.Simulation.Users["u1"].Timers ?? [], t => t.RuleId == "cart-abandoned");
        Assert.Empty(s.Of("cart-abandoned"));
    }

    private static JsonElement? FindProperty(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name == name)
                {
                    return p.Value;
                }
                if (FindProperty(p.Value, name) is { } found)
                {
                    return found;
                }
            }
        }
        return null;
    }
}
