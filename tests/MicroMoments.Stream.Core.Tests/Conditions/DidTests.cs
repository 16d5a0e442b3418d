using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests.Conditions;

/// <summary><c>did</c> and <c>not: { did }</c> in <c>when</c>, in <c>simulate</c>'s core: within and just outside the duration, the filter matching and not.</summary>
public sealed class DidTests
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    /// <summary>The Pricing rule exactly as docs/rules.md gives it ("Has (not) done").</summary>
    internal static readonly string PricingRule = "version: t\nrules:\n" + DocsBlock("id: pricing-questions");

    private static string DocsBlock(string containing)
    {
        var text = File.ReadAllText(Path.Combine(DocsLinksTests.Root, "docs", "rules.md"));
        var at = text.IndexOf(containing, StringComparison.Ordinal);
        var start = text.LastIndexOf("```yaml\n", at, StringComparison.Ordinal) + "```yaml\n".Length;
        return text[start..text.IndexOf("```", at, StringComparison.Ordinal)];
    }

    private static RuleSet Rule(string condition) => RuleSetLoader.Load($$"""
        version: t
        rules:
          - id: r
            trigger: { kind: event, event: Task Failed }
            when:
              - {{condition}}
            action: { moment: clarification, channel: in_app, message: { body: hi } }
        """);

    private static int Fired(RuleSet rules, Action<Scenario> feed)
    {
        var s = new Scenario(rules);
        feed(s);
        return s.Of("r").Count;
    }

    [Fact]
    public void Did_EventWithinTheDuration_HoldsToTheEdge()
    {
        var rules = Rule("did: { event: Trial Started, within: 30d }");

        Assert.Equal(1, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero).Track("Task Failed", 30 * Day)));
        Assert.Equal(0, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero).Track("Task Failed", (30 * Day) + Ms)));
    }

    [Fact]
    public void Did_EventNeverSent_DoesNotHold()
    {
        Assert.Equal(0, Fired(Rule("did: { event: Trial Started }"), s => s.Track("Trial Ended", TimeSpan.Zero).Track("Task Failed", Day)));
    }

    [Fact]
    public void Did_WithoutWithin_HoldsForAnyEarlierTime()
    {
        Assert.Equal(1, Fired(Rule("did: { event: trial_started }"), s => s.Track("Trial Started", TimeSpan.Zero).Track("Task Failed", 300 * Day)));
    }

    [Fact]
    public void NotDid_EventJustInsideOrOutsideTheDuration_IsTheNegation()
    {
        var rules = Rule("not: { did: Trial Started, within: 30d }");

        Assert.Equal(0, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero).Track("Task Failed", 30 * Day)));
        Assert.Equal(1, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero).Track("Task Failed", (30 * Day) + Ms)));
        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", Day)));
    }

    [Fact]
    public void Did_WithWhere_CountsOnlyTheMatchingEvent()
    {
        var rules = Rule("did: { event: Trial Started, where: { plan: { in: [pro, team] } }, within: 7d }");

        Assert.Equal(1, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero, new { plan = "Pro" }).Track("Task Failed", Day)));
        Assert.Equal(0, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero, new { plan = "basic" }).Track("Task Failed", Day)));
    }

    [Fact]
    public void NotDid_WithWhere_AnOtherwiseMatchingEventDoesNotCount()
    {
        var rules = Rule("not: { did: { event: Trial Started, where: { plan: pro } } }");

        Assert.Equal(1, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero, new { plan = "basic" }).Track("Task Failed", Day)));
        Assert.Equal(0, Fired(rules, s => s.Track("Trial Started", TimeSpan.Zero, new { plan = "pro" }).Track("Task Failed", Day)));
    }

    [Fact]
    public void Did_WithWhere_TheLaterMatchingEventIsTheOneTimed()
    {
        var rules = Rule("did: { event: Trial Started, where: { plan: pro }, within: 7d }");

        // The matching start is 8 days back; the start a day back is another plan's.
        Assert.Equal(0, Fired(rules, s => s
            .Track("Trial Started", TimeSpan.Zero, new { plan = "pro" })
            .Track("Trial Started", 7 * Day, new { plan = "basic" })
            .Track("Task Failed", 8 * Day)));
    }

    [Fact]
    public void PricingRule_ThreePricingViewsWithoutATrial_Fires()
    {
        var s = new Scenario(RuleSetLoader.Load(PricingRule));

        s.Page("Pricing", TimeSpan.Zero).Page("Pricing", TimeSpan.FromMinutes(4)).Page("Pricing", TimeSpan.FromMinutes(9));

        Assert.Single(s.Of("pricing-questions"));
    }

    [Fact]
    public void PricingRule_TrialStartedTheDayBefore_DoesNotFire()
    {
        var s = new Scenario(RuleSetLoader.Load(PricingRule));

        s.Track("Trial Started", -Day).Page("Pricing", TimeSpan.Zero).Page("Pricing", TimeSpan.FromMinutes(4)).Page("Pricing", TimeSpan.FromMinutes(9));

        Assert.Empty(s.Of("pricing-questions"));
        Assert.Empty(s.DecisionsOf("pricing-questions"));
    }

    [Fact]
    public void PricingRule_ThirdViewOutsideTenMinutes_DoesNotFire()
    {
        var s = new Scenario(RuleSetLoader.Load(PricingRule));

        s.Page("Pricing", TimeSpan.Zero).Page("Pricing", TimeSpan.FromMinutes(4)).Page("Pricing", TimeSpan.FromMinutes(10) + Ms);

        Assert.Empty(s.Of("pricing-questions"));
    }

    [Fact]
    public void Observe_MoreNamesThanTheBound_KeepsTheMostRecentlySeen()
    {
        var record = new LastSeenRecord(RuleSetLoader.Load(PricingRule));
        var state = new UserState { UserId = "u1" };

        var evicted = 0;
        for (var i = 0; i < LastSeenRecord.MaxEntries + 6; i++)
        {
            evicted += record.Observe(state, Event($"Event {i}"), 1000 + i);
        }

        Assert.Equal(6, evicted);
        Assert.Equal(LastSeenRecord.MaxEntries, state.LastSeen!.Count);
        Assert.False(state.LastSeen.ContainsKey("event 5"));
        Assert.True(state.LastSeen.ContainsKey("event 6"));
    }

    [Fact]
    public void Apply_EventNameLongerThanTheLimit_NotRecordedAndCounted()
    {
        var engine = new RuleEngine(RuleSetLoader.Load(PricingRule), new EngineOptions { Limits = new StateLimits { MaxStringLength = 10 } });
        var state = new UserState { UserId = "u1" };

        var result = engine.Apply(state, Event("A Rather Long Event Name"), new RecordSource("clickstream", 0, 1, DateTimeOffset.UnixEpoch), DateTimeOffset.UnixEpoch);

        Assert.True(result.IgnoredValues >= 1);
        Assert.Null(state.LastSeen);
    }

    [Fact]
    public void Observe_EarlierEventArrivingLate_KeepsTheLaterTime()
    {
        var record = new LastSeenRecord(RuleSetLoader.Load(PricingRule));
        var state = new UserState { UserId = "u1" };

        record.Observe(state, Event("Trial Started"), 2000);
        record.Observe(state, Event("Trial Started"), 1000);

        Assert.Equal(2000, state.LastSeen!["trial started"]);
    }

    [Fact]
    public void Merge_AliasWithLastSeen_TakesTheLaterTimeOfEachName()
    {
        var into = new UserState { UserId = "known", LastSeen = new(StringComparer.Ordinal) { ["a"] = 5, ["b"] = 9 } };
        var from = new UserState { UserId = "anon", LastSeen = new(StringComparer.Ordinal) { ["a"] = 7, ["b"] = 3, ["c"] = 1 } };

        UserMerge.Merge(into, from);

        Assert.Equal([("c", 1L), ("a", 7L), ("b", 9L)], into.LastSeen!.Select(x => (x.Key, x.Value)));
    }

    [Fact]
    public void Serialize_LastSeen_RoundTrips()
    {
        var state = new UserState { UserId = "u1", LastSeen = new(StringComparer.Ordinal) { ["page | where name equals pricing"] = 1_795_000_000_000, ["trial started"] = 1_795_000_000_500 } };

        var back = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));

        Assert.Equal(state.LastSeen, back.LastSeen);
    }

    [Theory]
    [InlineData("not: Trial Started", 6, "'not' takes { did: ... }")]
    [InlineData("did: { where: { plan: pro } }", 6, "'did' names an event")]
    [InlineData("did: { event: X, since: 3d }", 6, "unknown key 'since'")]
    [InlineData("did: { event: X, within: soon }", 6, "'within': 'soon'")]
    [InlineData("did: { event: X, where: { plan: { like: p } } }", 6, "unknown where operator 'like'")]
    [InlineData("did: { event: X }\n        within: 3d", 7, "put 'within' inside the did mapping")]
    public void Load_BadDid_ErrorWithItsLine(string condition, int line, string message)
    {
        var yaml = $$"""
            version: t
            rules:
              - id: r
                trigger: { kind: event, event: Task Failed }
                when:
                  - {{condition}}
                action: { moment: clarification, channel: in_app, message: { body: hi } }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        var error = Assert.Single(ex.Errors);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(line, error.Line);
    }

    private static ClickEvent Event(string name) => new()
    {
        MessageId = name, UserId = "u1", Type = "track", Name = name, Key = EventNames.Normalize(name), Timestamp = DateTimeOffset.UnixEpoch,
    };
}
