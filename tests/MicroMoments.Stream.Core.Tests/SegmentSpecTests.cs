using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Payloads shaped like the examples of Segment's public Spec, as analytics.js, analytics-ios and analytics-android
/// send them (files under Segment/), through the parser and the default rules.
/// </summary>
public sealed class SegmentSpecTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly ClickEventParser Parser = new(new ParserLimits());

    private static string Payload(string file, Action<JsonObject>? edit = null)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Segment", file)))!.AsObject();
        edit?.Invoke(json);
        return json.ToJsonString();
    }

    private static ClickEvent Parse(string json)
    {
        var result = Parser.Parse(Encoding.UTF8.GetBytes(json), null, new RecordSource("clickstream", 0, 1, T0), T0.AddHours(1));
        return result.Event ?? throw new InvalidOperationException($"{result.Reason}: {result.Error}");
    }

    private static Action<JsonObject> At(TimeSpan at, string? cartId = null, string? messageId = null, string? userId = null) => json =>
    {
        json["timestamp"] = (T0 + at).ToString("O");
        if (cartId is not null)
        {
            json["properties"]!["cart_id"] = cartId;
        }
        if (messageId is not null)
        {
            json["messageId"] = messageId;
        }
        if (userId is not null)
        {
            json["userId"] = userId;
        }
    };

    private long _line;

    private void Feed(OfflineSimulation sim, string json)
    {
        var result = sim.Feed(json, ++_line);
        Assert.True(result.IsValid, result.Error);
    }

    [Theory]
    [InlineData("track-analytics-js.json", "track", "feature used")]
    [InlineData("page-analytics-js.json", "page", "page")]
    [InlineData("screen-analytics-ios.json", "screen", "screen")]
    [InlineData("identify-analytics-android.json", "identify", "identify")]
    [InlineData("alias-analytics-js.json", "alias", "alias")]
    [InlineData("group-analytics-js.json", "group", "group")]
    [InlineData("product-added-ios.json", "track", "product added")]
    [InlineData("cart-viewed-ios.json", "track", "cart viewed")]
    [InlineData("checkout-started-ios.json", "track", "checkout started")]
    [InlineData("order-completed-ios.json", "track", "order completed")]
    public void Parse_SegmentSpecPayload_IsAcceptedWithItsCallType(string file, string type, string key)
    {
        var e = Parse(Payload(file));

        Assert.Equal(type, e.Type);
        Assert.Equal(key, e.Key);
        Assert.Equal("97980cfea0067", e.UserId);
    }

    [Fact]
    public void Parse_SpecPayloads_AllDriveTheDefaultRulesWithoutError()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Segment"), "*.json").Order(StringComparer.Ordinal))
        {
            Feed(sim, Payload(Path.GetFileName(file)));
        }
        sim.AdvanceTo(T0 + TimeSpan.FromDays(1));

        Assert.Empty(sim.TimerFailures);
    }

    [Theory]
    [InlineData("ios", "mobile")]
    [InlineData("android", "mobile")]
    [InlineData("mobile", "mobile")]
    [InlineData("iPad", "tablet")]
    [InlineData("tablet", "tablet")]
    [InlineData("web", "desktop")]
    [InlineData("desktop", "desktop")]
    [InlineData("tv", "tv")]
    public void Parse_DeviceType_MapsToItsDeviceClass(string sent, string expected)
    {
        var e = Parse(Payload("screen-analytics-ios.json", json => json["context"]!["device"]!["type"] = sent));

        Assert.Equal(expected, e.Device);
    }

    [Fact]
    public void CartAbandoned_IosProductAddedWithSnakeCaseCartId_PushesWithTypedDetails()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        Feed(sim, Payload("product-added-ios.json"));
        sim.AdvanceTo(T0 + TimeSpan.FromMinutes(10));

        var command = Assert.Single(sim.Interventions, c => c.RuleId == "cart-abandoned");
        Assert.Equal("push", command.Channel);
        Assert.Equal("app://cart/skdjsidjsdkdj29j?coupon=COMEBACK10", command.Message.Action?.Url);
        var json = Encoding.UTF8.GetString(InterventionCloudEvents.Encode(command));
        Assert.Contains("\"price\":18.99", json, StringComparison.Ordinal);
        Assert.Contains("\"quantity\":1,", json, StringComparison.Ordinal);
        Assert.Contains("\"in_stock\":true", json, StringComparison.Ordinal);
        Assert.Contains("\"sku\":\"G-32\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void CartAbandoned_CartAAbandonedAndCartBOrdered_NudgesForCartAOnly()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        Feed(sim, Payload("product-added-ios.json", At(TimeSpan.Zero, "cart-A", "m1")));
        Feed(sim, Payload("product-added-ios.json", At(TimeSpan.FromMinutes(1), "cart-B", "m2")));
        Feed(sim, Payload("order-completed-ios.json", At(TimeSpan.FromMinutes(2), "cart-B", "m3")));
        sim.AdvanceTo(T0 + TimeSpan.FromMinutes(30));

        var command = Assert.Single(sim.Interventions, c => c.RuleId == "cart-abandoned");
        Assert.Equal("app://cart/cart-A?coupon=COMEBACK10", command.Message.Action?.Url);
    }

    [Fact]
    public void CartAbandoned_SameCartOrderedWithSnakeCaseCartId_NearMissSendsNothing()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        Feed(sim, Payload("product-added-ios.json"));
        Feed(sim, Payload("order-completed-ios.json"));
        sim.AdvanceTo(T0 + TimeSpan.FromMinutes(30));

        Assert.DoesNotContain(sim.Interventions, c => c.RuleId == "cart-abandoned");
    }

    private static readonly RuleSet Probe = RuleSetLoader.Load("""
        version: segment
        rules:
          - id: probe
            trigger: { kind: event, event: Probe }
            when:
              - { path: event.cartId, equals: c-1 }
              - { path: event.in_stock, equals: "true" }
              - { path: event.Price, gt: 18 }
            action:
              moment: reward
              channel: in_app
              message:
                title: "{{user.group.name}} ({{user.group.id}}, {{user.group.employees}})"
                body: "{{user.location.city}}, {{user.location.country}} {{user.location.latitude}}: {{trigger.cart_id}} {{trigger.CartId}} {{trigger.price}}"
        """);

    private static string ProbeEvent(string cartKey, string messageId) =>
        $$$"""{"type":"track","event":"Probe","userId":"97980cfea0067","messageId":"{{{messageId}}}","timestamp":"2026-11-24T10:05:00Z","properties":{"{{{cartKey}}}":"c-1","price":18.99,"in_stock":true}}""";

    [Theory]
    [InlineData("cart_id")]
    [InlineData("cartId")]
    [InlineData("CartId")]
    public void PropertyNames_SnakeOrCamelCase_MatchInConditionsAndTemplates(string cartKey)
    {
        var sim = new OfflineSimulation(Probe);
        Feed(sim, ProbeEvent(cartKey, "p1"));

        var command = Assert.Single(sim.Interventions);
        Assert.EndsWith(": c-1 c-1 18.99", command.Message.Body, StringComparison.Ordinal);
        Assert.Contains("\"price\":18.99", Encoding.UTF8.GetString(InterventionCloudEvents.Encode(command)), StringComparison.Ordinal);
    }

    [Fact]
    public void PropertyNames_OtherCartId_NearMissDoesNotMatch()
    {
        var sim = new OfflineSimulation(Probe);
        Feed(sim, ProbeEvent("cart_id", "p1").Replace("\"c-1\"", "\"c-2\"", StringComparison.Ordinal));

        Assert.Empty(sim.Interventions);
    }

    [Fact]
    public void GroupAndLocation_FromGroupCallAndContext_ReadAsUserGroupAndUserLocation()
    {
        var sim = new OfflineSimulation(Probe);
        Feed(sim, Payload("group-analytics-js.json"));
        Feed(sim, Payload("track-analytics-js.json"));
        Feed(sim, ProbeEvent("cart_id", "p1"));

        var command = Assert.Single(sim.Interventions);
        Assert.Equal("Initech (0e8c78ea9d97a7b8185e8632, 329)", command.Message.Title);
        Assert.StartsWith("San Francisco, United States 40.2964197:", command.Message.Body, StringComparison.Ordinal);
        // A group's traits are the group's, not the user's.
        Assert.Null(sim.Users["97980cfea0067"].Traits?.GetValueOrDefault("industry"));
    }

    private static readonly RuleSet ThreeFailures = RuleSetLoader.Load("""
        version: alias
        rules:
          - id: three-failures
            trigger: { kind: count, event: Task Failed, times: 3, within: 1h, per: task }
            action: { moment: clarification, channel: in_app, message: { body: "{{trigger.count}} tries at {{trigger.task}}" } }
        """);

    private static string Failure(string user, bool anonymous, int minute) =>
        $$$"""{"type":"track","event":"Task Failed","{{{(anonymous ? "anonymousId" : "userId")}}}":"{{{user}}}","messageId":"f-{{{minute}}}","timestamp":"{{{(T0 + TimeSpan.FromMinutes(minute)).ToString("O")}}}","properties":{"task":"import"}}""";

    [Fact]
    public void Alias_AnonymousBrowsingThenSignUp_CountTriggerSeesBothHistories()
    {
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure("507f191e810c19729de860ea", anonymous: true, 1));
        Feed(sim, Failure("507f191e810c19729de860ea", anonymous: true, 2));
        Feed(sim, """{"type":"track","event":"Signed Up","userId":"97980cfea0067","anonymousId":"507f191e810c19729de860ea","messageId":"s","timestamp":"2026-11-24T10:03:00Z"}""");
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(3.5))));
        Feed(sim, Failure("97980cfea0067", anonymous: false, 4));

        var command = Assert.Single(sim.Interventions);
        Assert.Equal("97980cfea0067", command.UserId);
        Assert.Equal(3, command.Trigger.EventIds.Count);
        Assert.Equal("3 tries at import", command.Message.Body);
        var anonymous = sim.Users["507f191e810c19729de860ea"];
        Assert.Equal("97980cfea0067", anonymous.MergedInto);
        Assert.Null(anonymous.Windows);
    }

    [Fact]
    public void UserStateSerializer_LocationGroupAndTombstone_RoundTrip()
    {
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Payload("track-analytics-js.json", json => { json.Remove("userId"); }));
        Feed(sim, Payload("group-analytics-js.json", json => { json.Remove("userId"); }));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(1))));

        var identified = State.UserStateSerializer.Deserialize(State.UserStateSerializer.Serialize(sim.Users["97980cfea0067"]));
        var tombstone = State.UserStateSerializer.Deserialize(State.UserStateSerializer.Serialize(sim.Users["507f191e810c19729de860ea"]));

        Assert.Equal("San Francisco", identified.Attributes?["location.city"]);
        Assert.Equal("Initech", identified.Attributes?["group.name"]);
        Assert.Equal("97980cfea0067", tombstone.MergedInto);
        Assert.Null(tombstone.Attributes);
    }

    [Fact]
    public void Alias_WithoutTheAliasCall_NearMissKeepsHistoriesApart()
    {
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure("507f191e810c19729de860ea", anonymous: true, 1));
        Feed(sim, Failure("507f191e810c19729de860ea", anonymous: true, 2));
        Feed(sim, Failure("97980cfea0067", anonymous: false, 4));

        Assert.Empty(sim.Interventions);
    }

    [Fact]
    public void Alias_AnonymousTimerPending_MovesToTheIdentifiedUser()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        Feed(sim, Payload("product-added-ios.json", json => { json.Remove("userId"); json["anonymousId"] = "507f191e810c19729de860ea"; }));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(1))));
        sim.AdvanceTo(T0 + TimeSpan.FromMinutes(10));

        var command = Assert.Single(sim.Interventions, c => c.RuleId == "cart-abandoned");
        Assert.Equal("97980cfea0067", command.UserId);
    }

    private const string Victim = "507f191e810c19729de860ea";

    [Fact]
    public void Alias_PreviousIdIdentified_NothingMerged()
    {
        // Anyone can send an alias naming someone else's userId as previousId: it must not take that user's history.
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure(Victim, anonymous: false, 1));
        Feed(sim, Failure(Victim, anonymous: false, 2));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(3), userId: "atk-1")));
        Feed(sim, Failure("atk-1", anonymous: false, 4));

        Assert.Empty(sim.Interventions);
        Assert.Equal(1, sim.AliasesNotMerged);
        var victim = sim.Users[Victim];
        Assert.Null(victim.MergedInto);
        Assert.Equal(2, Assert.Single(victim.Windows!).Value.Count);
        // The victim's own third failure still counts its first two.
        Feed(sim, Failure(Victim, anonymous: false, 5));
        Assert.Equal(Victim, Assert.Single(sim.Interventions).UserId);
    }

    [Fact]
    public void Alias_PreviousIdAnonymousOnly_Merged()
    {
        // The near miss: the same calls, the previous id seen only as an anonymousId.
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure(Victim, anonymous: true, 1));
        Feed(sim, Failure(Victim, anonymous: true, 2));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(3), userId: "atk-1")));
        Feed(sim, Failure("atk-1", anonymous: false, 4));

        Assert.Equal("atk-1", Assert.Single(sim.Interventions).UserId);
        Assert.Equal(0, sim.AliasesNotMerged);
        Assert.Equal("atk-1", sim.Users[Victim].MergedInto);
    }

    [Fact]
    public void Alias_PreviousIdAnonymousThenIdentified_NothingMerged()
    {
        // Once seen under a userId, a state stays identified, whatever later events carry.
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure(Victim, anonymous: true, 1));
        Feed(sim, Failure(Victim, anonymous: false, 2));
        Feed(sim, Failure(Victim, anonymous: true, 3));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(3.5), userId: "atk-1")));

        Assert.Equal(1, sim.AliasesNotMerged);
        Assert.Null(sim.Users[Victim].MergedInto);
        Assert.False(sim.Users[Victim].Anonymous);
    }

    [Fact]
    public void Item3_AliasPreviousIdNeverSeen_CountedAsNothingMerged()
    {
        // As the worker counts it with outcome not_found: every alias that merges nothing is counted.
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(1))));

        Assert.Equal(1, sim.AliasesNotMerged);
        Assert.False(sim.Users.ContainsKey(Victim));
    }

    [Fact]
    public void Alias_PreviousIdMergedAlready_NothingMergedAgain()
    {
        var sim = new OfflineSimulation(ThreeFailures);
        Feed(sim, Failure(Victim, anonymous: true, 1));
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(2))));
        Feed(sim, Failure(Victim, anonymous: true, 3)); // starts afresh on the tombstone
        Feed(sim, Payload("alias-analytics-js.json", At(TimeSpan.FromMinutes(4), messageId: "second-alias", userId: "atk-1")));

        Assert.Equal(1, sim.AliasesNotMerged);
        Assert.Equal("97980cfea0067", sim.Users[Victim].MergedInto);
        Assert.Null(sim.Users["atk-1"].Windows);
    }

    [Theory]
    [InlineData("""{"type":"track","event":"x","anonymousId":"a"}""", true)]
    [InlineData("""{"type":"track","event":"x","anonymous_id":"a"}""", true)]
    [InlineData("""{"type":"track","event":"x","userId":"u","anonymousId":"a"}""", false)]
    [InlineData("""{"type":"track","event":"x","userId":"u"}""", false)]
    [InlineData("""{"event":"x","user_id":"u","anonymous_id":"a"}""", false)]
    public void Parse_UserIdOrAnonymousId_AnonymousOnlyWithoutAUserId(string json, bool anonymous)
    {
        Assert.Equal(anonymous, Parse(json).Anonymous);
    }

    [Fact]
    public void Parse_RecordKeyOnly_NotAnonymous()
    {
        // The record key names the user by contract: no evidence of an anonymous device, so never merged away.
        var result = Parser.Parse("""{"type":"track","event":"x"}"""u8.ToArray(), "k-1", new RecordSource("clickstream", 0, 1, T0), T0.AddHours(1));

        Assert.Equal(("k-1", false), (result.Event!.UserId, result.Event.Anonymous));
    }

    [Fact]
    public void Parse_AliasWithoutPreviousId_IsAnInvalidEvent()
    {
        var result = Parser.Parse(Encoding.UTF8.GetBytes(Payload("alias-analytics-js.json", json => json.Remove("previousId"))), null,
            new RecordSource("clickstream", 0, 1, T0), T0.AddHours(1));

        Assert.Equal(RejectReasons.InvalidEvent, result.Reason);
    }

    private const string NoMessageId = """{"type":"track","event":"Content Shared","userId":"u-1","timestamp":"2026-11-24T10:00:00Z","properties":{"contentId":"c-9"}}""";

    [Fact]
    public void MissingMessageId_SameRecordTwice_AppliedOnce()
    {
        var sim = new OfflineSimulation(Scenario.Defaults);
        Feed(sim, NoMessageId);
        var second = sim.Feed(NoMessageId, ++_line);

        Assert.True(second.IsValid);
        Assert.Single(sim.Interventions, c => c.RuleId == "content-shared-reward");
        Assert.StartsWith("fp-", second.Event!.MessageId, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingMessageId_OtherFileNameAndLine_SameIdsAndOutput()
    {
        static string Run(string source, long line)
        {
            var sim = new OfflineSimulation(Scenario.Defaults);
            sim.Feed(NoMessageId, line, source);
            return string.Join('\n', sim.Interventions.Select(c => Encoding.UTF8.GetString(InterventionCloudEvents.Encode(c))));
        }

        var a = Run("events.ndjson", 1);

        Assert.NotEmpty(a);
        Assert.Equal(a, Run("renamed.ndjson", 42));
    }

    [Fact]
    public void MissingMessageId_DifferentContent_DifferentIds()
    {
        var a = Parse(NoMessageId);
        var b = Parse(NoMessageId.Replace("c-9", "c-8", StringComparison.Ordinal));
        var otherUser = Parse(NoMessageId.Replace("u-1", "u-2", StringComparison.Ordinal));

        Assert.NotEqual(a.MessageId, b.MessageId);
        Assert.NotEqual(a.MessageId, otherUser.MessageId);
        Assert.Equal(a.MessageId, Parse(NoMessageId).MessageId);
    }

    [Fact]
    public void DecisionJson_TypedDetails_WritesNumbersAndBooleansUnquoted()
    {
        var sim = new OfflineSimulation(Probe);
        Feed(sim, ProbeEvent("cart_id", "p1"));

        var json = DecisionJson.Serialize(Assert.Single(sim.Decisions));
        using var doc = JsonDocument.Parse(json);
        var details = doc.RootElement.GetProperty("trigger").GetProperty("details");
        Assert.Equal(JsonValueKind.Number, details.GetProperty("price").ValueKind);
        Assert.Equal(JsonValueKind.True, details.GetProperty("in_stock").ValueKind);
    }
}
