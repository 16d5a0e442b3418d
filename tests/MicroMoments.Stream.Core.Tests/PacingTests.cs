using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// <c>policies.rateLimit</c> in <c>simulate</c>'s core: a command over the limit waits unproduced for the next free minute and is
/// produced then; with none before its expiresAt it expires.
/// </summary>
public sealed class PacingTests
{
    private static RuleSet Rules(int perMinute, string expires = "1h", string policy = "caps: [ { max: 1, per: 1h } ]") => RuleSetLoader.Load($$"""
        policies:
          rateLimit: [ { channel: push, perMinute: {{perMinute}} } ]
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: push, expires: {{expires}}, message: { body: x } }
            policy: { {{policy}} }
        """);

    private static readonly TimeSpan HalfMinute = TimeSpan.FromSeconds(30);

    private static Scenario Pings(RuleSet rules, int users)
    {
        var s = new Scenario(rules);
        for (var i = 0; i < users; i++)
        {
            s.Track("Ping", HalfMinute, user: $"p{i}");
        }
        return s;
    }

    [Fact]
    public void Simulate_ExactlyAtTheLimit_AllEmittedWhenTheyWereDue()
    {
        var s = Pings(Rules(perMinute: 2), users: 2);

        Assert.All(s.Of("ping"), c => Assert.Equal(T0 + HalfMinute, c.DeliverAfter));
        Assert.All(s.DecisionsOf("ping"), d => Assert.Equal((Outcomes.Emitted, (string?)null), (d.Outcome, d.Reason)));
    }

    [Fact]
    public void Simulate_OneOverTheLimit_WaitsWithRateLimitUnproduced()
    {
        var s = Pings(Rules(perMinute: 2), users: 3);

        Assert.Equal(["p0", "p1"], s.Of("ping").Select(c => c.UserId));
        var decision = s.DecisionsOf("ping")[2];
        Assert.Equal(("p2", Outcomes.Deferred, Reasons.RateLimit, Reasons.RateLimit), (decision.UserId, decision.Outcome, decision.Reason, decision.Blocked));
        var waiting = Assert.Single(s.Simulation.Users["p2"].Waiting!);
        Assert.Equal((T0 + TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds(), waiting.Slot);
        Assert.Equal(waiting.Slot / 60_000, waiting.Reserved);
    }

    [Fact]
    public void Simulate_OneOverTheLimit_ProducedAtTheNextMinutesStart()
    {
        var s = Pings(Rules(perMinute: 2), users: 3);

        s.Advance(TimeSpan.FromMinutes(1));

        var last = s.Of("ping")[2];
        Assert.Equal(T0 + TimeSpan.FromMinutes(1), last.DeliverAfter);
        Assert.Equal(T0 + HalfMinute + TimeSpan.FromHours(1), last.ExpiresAt); // the expiry stays the command's own
        Assert.Equal(s.DecisionsOf("ping")[2].InterventionId, last.InterventionId);
        var produced = s.DecisionsOf("ping")[3];
        Assert.Equal((Outcomes.Emitted, true, last.InterventionId), (produced.Outcome, produced.FollowUp, produced.InterventionId));
        Assert.Equal(2, s.Simulation.Counters["ping"]["control|emitted"]);
        Assert.Equal(1, s.Simulation.Counters["ping"]["control|deferred"]);
    }

    [Fact]
    public void Simulate_ManyOverTheLimit_NoMinuteHoldsMoreThanTheLimit()
    {
        var s = Pings(Rules(perMinute: 3), users: 10);

        s.Advance(TimeSpan.FromMinutes(5));

        var perMinute = s.Of("ping").GroupBy(c => c.DeliverAfter.ToUnixTimeMilliseconds() / 60_000).Select(g => g.Count()).ToList();
        Assert.Equal([3, 3, 3, 1], perMinute);
        Assert.Equal(10, s.Of("ping").Count);
    }

    [Fact]
    public void Simulate_NextFreeMinuteStartsOneSecondBeforeExpiry_Deferred()
    {
        // deliverAfter :30, expires 31s later: the next minute (:00) starts before expiresAt (:01).
        var s = Pings(Rules(perMinute: 1, expires: "31s"), users: 2);

        s.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(T0 + TimeSpan.FromMinutes(1), s.Of("ping")[1].DeliverAfter);
        Assert.Equal(Reasons.RateLimit, s.DecisionsOf("ping")[1].Reason);
    }

    [Fact]
    public void Simulate_NextFreeMinuteStartsAtExpiry_ExpiredBlockedByRateLimitAndUnsent()
    {
        // deliverAfter :30, expires 30s later: the next minute starts exactly at expiresAt, when the command is dead.
        var s = Pings(Rules(perMinute: 1, expires: "30s"), users: 2);

        Assert.Single(s.Of("ping"));
        var decision = s.DecisionsOf("ping")[1];
        Assert.Equal((Outcomes.Suppressed, Reasons.Expired, Reasons.RateLimit, false), (decision.Outcome, decision.Reason, decision.Blocked, decision.FollowUp));
        var user = s.Simulation.Users["p1"];
        Assert.Empty(user.Sent ?? []); // the cap never counted a send that never happened
        Assert.Empty(user.Interventions ?? []);
        Assert.Null(user.Waiting);
        Assert.Equal(1, s.Simulation.Counters["ping"]["control|suppressed.expired"]);
        Assert.Equal(1, s.Simulation.Counters["ping"]["control|emitted"]);
    }

    [Fact]
    public void Simulate_DroppedCommandsUser_CapStillLetsTheNextOneThrough()
    {
        var s = Pings(Rules(perMinute: 1, expires: "30s"), users: 2);

        s.Track("Ping", TimeSpan.FromMinutes(5), user: "p1");

        Assert.Equal(2, s.Of("ping").Count);
        Assert.Equal("p1", s.Of("ping")[1].UserId);
    }

    [Fact]
    public void Simulate_OtherChannelLimited_OutputIdenticalToNoLimit()
    {
        var events = Enumerable.Range(0, 20).Select(i => $"u{i % 4}").ToList();
        string Run(RuleSet rules)
        {
            var s = new Scenario(rules);
            foreach (var (u, i) in events.Select((u, i) => (u, i)))
            {
                s.Track("Ping", TimeSpan.FromSeconds(i), user: u);
            }
            return string.Join("\n", s.Simulation.Interventions.Select(c => System.Text.Encoding.UTF8.GetString(InterventionCloudEvents.Encode(c))))
                + string.Join("\n", s.Simulation.Decisions);
        }
        var limited = Rules(perMinute: 1).RateLimits.Count;
        var none = RuleSetLoader.Load("""
            version: v
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, expires: 1h, message: { body: x } }
                policy: { caps: [ { max: 1, per: 1h } ] }
            """);
        var otherChannel = RuleSetLoader.Load("""
            version: v
            policies:
              rateLimit: [ { channel: email, perMinute: 1 } ]
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, expires: 1h, message: { body: x } }
                policy: { caps: [ { max: 1, per: 1h } ] }
            """);

        Assert.Equal(1, limited);
        Assert.Equal(Run(none), Run(otherChannel));
    }

    [Theory]
    [InlineData(29, true)]  // 10:00:59, before the deferred command's 10:01:00
    [InlineData(30, false)] // 10:01:00, when it was produced and is the delivery services'
    public void Simulate_CancelOnBeforeOrAtTheDeferredMinute_SuppressedWithoutMessageOnlyBefore(int secondsAfterPing, bool suppressed)
    {
        var rules = Rules(perMinute: 1, policy: "caps: [ { max: 1, per: 1h } ], cancelOn: [ Order Completed ]");
        var s = Pings(rules, users: 2);

        s.Track("Order Completed", HalfMinute + TimeSpan.FromSeconds(secondsAfterPing), user: "p1");
        s.Advance(TimeSpan.FromMinutes(2));

        Assert.Empty(s.Simulation.Cancellations); // nothing produced is ever withdrawn: the waiting command was never sent
        Assert.Equal(suppressed ? ["p0"] : ["p0", "p1"], s.Of("ping").Select(c => c.UserId));
        var last = s.DecisionsOf("ping")[^1];
        Assert.Equal(suppressed ? (Outcomes.Suppressed, "cancel_on:order completed") : (Outcomes.Emitted, null), (last.Outcome, last.Reason));
    }

    [Fact]
    public void Reserve_InOrder_EachMinuteUpToItsLimit()
    {
        var ledger = new InMemoryRateLedger();
        var r = new MinuteRequest("push", 2, 100, 102);

        var granted = ledger.Reserve([r, r, r, r, r, r, r]);

        Assert.Equal([100, 100, 101, 101, 102, 102, -1], granted);
        Assert.Equal(2, ledger.CountOf("push", 102));
    }

    [Theory]
    [InlineData(59, 1)]
    [InlineData(60, 0)]
    public async Task ReserveAsync_ClockMovedOn_MinutesBehindItForgottenOnceAnHourHasPassed(int minutesLater, int countLeft)
    {
        var ledger = new InMemoryRateLedger();
        var minute = T0.ToUnixTimeMilliseconds() / RateLimitPolicy.MinuteMs;
        _ = await ledger.ReserveAsync([new MinuteRequest("push", 1, minute, minute)], T0, default);
        var later = minute + minutesLater;

        _ = await ledger.ReserveAsync([new MinuteRequest("push", 1, later, later)], T0.AddMinutes(minutesLater), default);

        Assert.Equal(countLeft, ledger.CountOf("push", minute));
        Assert.Equal(1, ledger.CountOf("push", later));
    }

    [Fact]
    public void Request_ExpiryOneMillisecondIntoAMinute_ThatMinuteUsable()
    {
        var limit = new RateLimitSpec("push", 1);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(10 * 60_000 + 30_000);
        var command = Command(at, at.AddSeconds(30));

        Assert.Equal(new MinuteRequest("push", 1, 10, 10), RateLimitPolicy.Request(limit, command));
        Assert.Equal(new MinuteRequest("push", 1, 10, 11), RateLimitPolicy.Request(limit, command with { ExpiresAt = at.AddSeconds(30).AddMilliseconds(1) }));
        Assert.Equal(10 + RateLimitPolicy.MaxScanMinutes - 1, RateLimitPolicy.Request(limit, command with { ExpiresAt = at.AddDays(3) }).LastMinute);
    }

    [Fact]
    public void Loader_RateLimitInARulesOwnPolicy_Refused()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: x } }
                policy: { rateLimit: [ { channel: push, perMinute: 5 } ] }
            """));

        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown key 'rateLimit'", StringComparison.Ordinal) && e.Line == 5);
    }

    [Theory]
    [InlineData("[ { channel: push, perMinute: 0 } ]", "perMinute")]
    [InlineData("[ { channel: push } ]", "perMinute")]
    [InlineData("[ { perMinute: 5 } ]", "channel")]
    [InlineData("[ { channel: push, perMinute: 5 }, { channel: push, perMinute: 6 } ]", "two rate limits")]
    [InlineData("{ channel: push, perMinute: 5 }", "is a list")]
    public void Loader_BadRateLimit_RefusedWithTheReason(string value, string reason)
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load($$"""
            policies:
              rateLimit: {{value}}
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: x } }
            """));

        Assert.Contains(ex.Errors, e => e.Message.Contains(reason, StringComparison.Ordinal) && e.Line == 2);
    }

    [Fact]
    public void Loader_RateLimitBesideOtherGlobalPolicies_BothRead()
    {
        var rules = Rules(perMinute: 7);
        var withCaps = RuleSetLoader.Load("""
            policies:
              caps: [ { max: 2, per: 1h } ]
              rateLimit: [ { channel: push, perMinute: 2000 }, { channel: email, perMinute: 10 } ]
            rules:
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: x } }
            """);

        Assert.Equal([new RateLimitSpec("push", 7)], rules.RateLimits);
        Assert.Equal([new RateLimitSpec("push", 2000), new RateLimitSpec("email", 10)], withCaps.RateLimits);
        Assert.Single(withCaps.Policy.Caps);
    }

    [Fact]
    public async Task Schema_GlobalRateLimitAndControl_ValidAndInARule_Refused()
    {
        var schema = await RulesSchemaTests.SchemaAsync();
        const string rule = """
              - id: ping
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, message: { body: x } }
            """;

        var global = schema.Validate(RulesSchemaTests.YamlToJson($"""
            policies:
              caps: [ {"{"} max: 2, per: 1h {"}"} ]
              rateLimit: [ {"{"} channel: push, perMinute: 2000 {"}"} ]
              globalControl: 0.05
            rules:
            {rule}
            """));
        var inRule = schema.Validate(RulesSchemaTests.YamlToJson($"""
            rules:
            {rule}
                policy: {"{"} rateLimit: [ {"{"} channel: push, perMinute: 5 {"}"} ] {"}"}
            """));
        var zero = schema.Validate(RulesSchemaTests.YamlToJson($"""
            policies:
              rateLimit: [ {"{"} channel: push, perMinute: 0 {"}"} ]
            rules:
            {rule}
            """));

        Assert.Empty(global.Select(e => e.ToString()));
        Assert.NotEmpty(inRule);
        Assert.NotEmpty(zero);
    }

    private static InterventionCommand Command(DateTimeOffset deliverAfter, DateTimeOffset expiresAt) => new()
    {
        InterventionId = "i", UserId = "u", RuleId = "r", RuleVersion = "v", Moment = "reward", Channel = "push", Priority = 50,
        Message = new InterventionMessage("t", "b", null), DeliverAfter = deliverAfter, ExpiresAt = expiresAt,
        Trigger = new TriggerInfo("event", [], new Dictionary<string, object>()), User = new UserSummary("new", "newcomer", null, null),
        Intent = "do",
    };
}
