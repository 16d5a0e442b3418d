using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Deciding in delivery time (docs/rules.md, "Delivery time and deferral"): caps and disclosure count delivery times, a blocked
/// candidate waits for the earliest allowed slot, expires with its blocking reason, or drops under <c>onBlocked: drop</c>.
/// </summary>
public sealed class DeliveryTimeTests
{
    private static TimeSpan M(double m) => TimeSpan.FromMinutes(m);
    private static TimeSpan H(double h) => TimeSpan.FromHours(h);

    private static RuleSet Pings(string policy = "", string expires = "2h", string extra = "") => RuleSetLoader.Load($$$"""
        version: t
        policies: { caps: [ { max: 1, per: 1h } ] }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: m, channel: in_app, expires: {{{expires}}}, message: { body: "hi {{trigger.n}}" } }
            policy: { {{{policy}}} }
        {{{extra}}}
        """);

    [Fact]
    public void QuietHoursPileUp_ThreeAt2300ThreeFrom0710_NoMoreThanThreeIn0700Hour()
    {
        var rules = string.Join("\n", Enumerable.Range(1, 6).Select(i => $$"""
              - id: nudge-{{i}}
                trigger: { kind: event, event: E{{i}} }
                action: { moment: m, channel: in_app, expires: 24h, message: { body: "n{{i}}" } }
            """));
        var s = new LocalStory($$"""
            version: t
            policies:
              caps: [ { max: 3, per: 1h } ]
              quietHours: { from: "22:00", to: "07:00", mode: defer }
            rules:
            {{rules}}
            """);
        for (var i = 1; i <= 3; i++)
        {
            s.Track($"E{i}", 2026, 11, 24, 23, i);
        }
        for (var i = 4; i <= 6; i++)
        {
            s.Track($"E{i}", 2026, 11, 25, 7, 10 + (i - 4) * 5);
        }
        s.Simulation.AdvanceTo(s.At(2026, 11, 25, 12));

        var byHour = s.Simulation.Interventions.GroupBy(c => TimeZones.Local(c.DeliverAfter, "Europe/Berlin").Hour)
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<int, int> { [7] = 3, [8] = 3 }, byHour);
        Assert.All(s.Simulation.Interventions.Where(c => c.RuleId is "nudge-4" or "nudge-5" or "nudge-6"),
            c => Assert.Equal(s.At(2026, 11, 25, 8, 0), c.DeliverAfter));
    }

    [Fact]
    public void CartDiscount_AfterThreeNudgesInTheHour_DeliveredWhenTheHourFrees()
    {
        var s = new Scenario()
            .Track("Content Shared", M(0), new { contentId = "c1" })
            .Track("Form Field Abandoned", M(1), new { form = "profile", field = "Company Description" })
            .Track("Form Completed", M(2), new { form = "profile", nextStep = "invite a teammate" })
            .Track("Product Added", M(3), new { cartId = "cart-1", value = 40 });
        s.Advance(H(3));

        Assert.Equal(3, s.Simulation.Interventions.Count(c => c.DeliverAfter < Scenario.T0 + H(1)));
        var waited = s.DecisionsOf("cart-abandoned").First();
        Assert.Equal((Outcomes.Deferred, Reasons.HourlyCap), (waited.Outcome, waited.Blocked));
        var discount = Assert.Single(s.Of("cart-abandoned"));
        Assert.Equal(Scenario.T0 + H(1), discount.DeliverAfter);
        Assert.Equal(Scenario.T0 + H(1), discount.DecidedAt);
        Assert.True(discount.ExpiresAt > Scenario.T0 + H(24), "valid 24 h from when it was wanted");
        Assert.Contains("cart-1", discount.Message.Action!.Url, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgressiveDisclosure_SecondTooltipExpires_FiresAtNextUseADayLater()
    {
        var s = new Scenario().Track("Signed Up", M(0));
        foreach (var feature in new[] { "reports", "automations" })
        {
            for (var i = 0; i < 4; i++)
            {
                s.Track("Feature Used", H(feature == "reports" ? 1 : 3) + M(i), new { feature });
            }
        }
        s.Track("Feature Used", H(30), new { feature = "automations" });

        var tips = s.Of("feature-advanced-tooltip");
        Assert.Equal(2, tips.Count);
        Assert.Equal(Scenario.T0 + H(30), tips[1].DeliverAfter);
        Assert.Contains("automations", tips[1].Message.Action!.Url, StringComparison.Ordinal);
        Assert.Empty(s.Simulation.Users["u1"].UnservedCrossings ?? []);
    }

    [Fact]
    public void Collision_LowerPriorityLoser_DeliveredFifteenMinutesLaterInTheSameShape()
    {
        var s = new Scenario(RuleSetLoader.Load("""
            version: t
            rules:
              - id: reward
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: toast, priority: 60, message: { body: "well done" } }
              - id: tooltip
                trigger: { kind: event, event: Ping }
                action: { moment: education, channel: in_app, priority: 45, message: { title: "Tip", body: "try {{trigger.n}}", action: { label: Go, url: "app://x" } } }
            """)).Track("Ping", M(0), new { n = 7 });

        Assert.Empty(s.Of("tooltip"));
        Assert.Equal((Outcomes.Deferred, Reasons.LowerPriority), (s.DecisionsOf("tooltip")[0].Outcome, s.DecisionsOf("tooltip")[0].Reason));
        s.Advance(H(1));

        var tip = Assert.Single(s.Of("tooltip"));
        Assert.Equal(Scenario.T0 + M(15), tip.DeliverAfter);
        Assert.Equal("try 7", tip.Message.Body);
        var reward = s.Of("reward")[0];
        Assert.Equal(DataNames(reward), DataNames(tip));
        Assert.Equal(Data(reward).GetProperty("trigger").GetRawText(), Data(tip).GetProperty("trigger").GetRawText());
        var produced = s.DecisionsOf("tooltip")[1];
        Assert.Equal((Outcomes.Emitted, true), (produced.Outcome, produced.FollowUp));
    }

    private static JsonElement Data(InterventionCommand c) => JsonDocument.Parse(InterventionCloudEvents.Encode(c)).RootElement.GetProperty("data").Clone();

    private static List<string> DataNames(InterventionCommand c) => Data(c).EnumerateObject().Select(p => p.Name).ToList();

    [Fact]
    public void Expiry_NoSlotBeforeExpiresAt_SuppressedExpiredNamingTheBlock()
    {
        var s = new Scenario(Pings(expires: "30m")).Track("Ping", M(0)).Track("Ping", M(10));

        var d = s.DecisionsOf("ping")[1];
        Assert.Equal((Outcomes.Suppressed, Reasons.Expired, Reasons.HourlyCap), (d.Outcome, d.Reason, d.Blocked));
        Assert.Contains("\"blocked\":\"hourly_cap\"", DecisionJson.Serialize(d), StringComparison.Ordinal);
        Assert.Null(s.Simulation.Users["u1"].Waiting);
    }

    [Fact]
    public void OnBlockedDrop_CapReached_SuppressedAsBefore()
    {
        var s = new Scenario(Pings("onBlocked: drop")).Track("Ping", M(0)).Track("Ping", M(10)).Advance(H(3));

        Assert.Single(s.Of("ping"));
        Assert.Equal((Outcomes.Suppressed, Reasons.HourlyCap), (s.DecisionsOf("ping")[1].Outcome, s.DecisionsOf("ping")[1].Reason));
        Assert.Null(s.Simulation.Users["u1"].Waiting);
    }

    [Fact]
    public void Waiting_NewerTriggerOfTheSameRule_SupersedesIt()
    {
        var s = new Scenario(Pings()).Track("Ping", M(0), new { n = 1 }).Track("Ping", M(10), new { n = 2 }).Track("Ping", M(20), new { n = 3 });

        Assert.Single(s.Simulation.Users["u1"].Waiting!);
        var superseded = s.DecisionsOf("ping").Single(d => d.Reason == Reasons.Superseded);
        Assert.Equal(s.DecisionsOf("ping")[1].InterventionId, superseded.InterventionId);
        s.Advance(H(3));
        Assert.Equal(["hi 1", "hi 3"], s.Of("ping").Select(c => c.Message.Body));
        Assert.Equal(Scenario.T0 + H(1), s.Of("ping")[1].DeliverAfter);
    }

    [Fact]
    public void Waiting_CancelOnBeforeSlot_SuppressedWithoutMessage()
    {
        var s = new Scenario(Pings("cancelOn: [Stop]")).Track("Ping", M(0)).Track("Ping", M(10)).Track("Stop", M(20)).Advance(H(3));

        Assert.Single(s.Of("ping"));
        Assert.Empty(s.Simulation.Cancellations);
        var d = s.DecisionsOf("ping").Last();
        Assert.Equal(Outcomes.Suppressed, d.Outcome);
        Assert.StartsWith(CancelReasons.CancelOnPrefix, d.Reason, StringComparison.Ordinal);
        Assert.Null(s.Simulation.Users["u1"].Waiting);
    }

    [Fact]
    public void Waiting_SurvivesTheStateCodec_AndWakesTheUserAtItsSlot()
    {
        var s = new Scenario(Pings()).Track("Ping", M(0)).Track("Ping", M(10), new { n = "x" });
        var state = s.Simulation.Users["u1"];

        var read = State.UserStateSerializer.Deserialize(State.UserStateSerializer.Serialize(state));

        Assert.Equal((Scenario.T0 + H(1)).ToUnixTimeMilliseconds(), read.NextDueAt);
        Assert.Equal(JsonSerializer.Serialize(state.Waiting), JsonSerializer.Serialize(read.Waiting));
    }

    [Fact]
    public void Waiting_WrittenInFormat1Mode_KeptAsJsonAndStillWakes()
    {
        var s = new Scenario(Pings()).Track("Ping", M(0)).Track("Ping", M(10), new { n = "x" });
        var state = s.Simulation.Users["u1"];

        var written = State.UserStateSerializer.Serialize(state, State.UserStateFormat.Binary);
        var read = State.UserStateSerializer.Deserialize(written);

        Assert.Equal((byte)'{', written[0]); // format 1 has no place for it: JSON, which every version reads
        Assert.Equal(JsonSerializer.Serialize(state.Waiting), JsonSerializer.Serialize(read.Waiting));
    }

    [Fact]
    public void Waiting_EventSizedMessage_KeptCutInTheState()
    {
        var s = new Scenario(Pings()).Track("Ping", M(0)).Track("Ping", M(10), new { n = new string('x', 100_000) });

        var waiting = Assert.Single(s.Simulation.Users["u1"].Waiting!);

        Assert.InRange(waiting.Body.Length, 1, 2000);
        Assert.EndsWith(Interventions.CommandSizeBudget.Marker, waiting.Body, StringComparison.Ordinal);
    }
}
