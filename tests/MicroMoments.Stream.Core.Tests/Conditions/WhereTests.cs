using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Tests.Conditions;

/// <summary>Each <c>where</c> form, in <c>simulate</c>'s core, with the event that just misses beside the one that matches.</summary>
public sealed class WhereTests
{
    private static TimeSpan M(int minutes) => TimeSpan.FromMinutes(minutes);

    private static RuleSet Rule(string eventName, string where) => RuleSetLoader.Load($$"""
        version: t
        rules:
          - id: r
            trigger: { kind: event, event: {{eventName}}, where: {{where}} }
            action: { moment: clarification, channel: in_app, message: { body: hi } }
        """);

    private static int Fired(RuleSet rules, Action<Scenario> feed)
    {
        var s = new Scenario(rules);
        feed(s);
        return s.Of("r").Count;
    }

    private static object Body(string id, DateTimeOffset at, object properties, object? context = null, object? traits = null) => new
    {
        type = "track", @event = "Task Failed", userId = "u1", messageId = id, timestamp = at.ToString("O"),
        properties, traits = traits ?? new { }, context = context ?? new { timezone = "Europe/Berlin" },
    };

    [Fact]
    public void Where_NameOnAPage_MatchesThePageNameNotAnother()
    {
        var rules = Rule("page", "{ name: Pricing }");

        Assert.Equal(1, Fired(rules, s => s.Page("pricing", M(0))));
        Assert.Equal(0, Fired(rules, s => s.Page("Pricing Plans", M(0))));
    }

    [Fact]
    public void Where_NameOnAScreen_MatchesTheScreenName()
    {
        var rules = Rule("screen", "{ name: Checkout }");

        Assert.Equal(1, Fired(rules, s => s.Screen("Checkout", M(0))));
        Assert.Equal(0, Fired(rules, s => s.Screen("Cart", M(0))));
    }

    [Fact]
    public void Where_NameOnATrackEvent_IsTheEventName()
    {
        Assert.Equal(1, Fired(Rule("Task Failed", "{ name: task failed }"), s => s.Track("Task Failed", M(0))));
        Assert.Equal(0, Fired(Rule("Task Failed", "{ name: Task Completed }"), s => s.Track("Task Failed", M(0))));
    }

    [Fact]
    public void Where_EventInNames_ComparesNormalisedNames()
    {
        Assert.Equal(1, Fired(Rule("Task Failed", "{ event: { in: [task_failed, Other] } }"), s => s.Track("Task Failed", M(0))));
        Assert.Equal(0, Fired(Rule("Task Failed", "{ event: { notIn: [task_failed] } }"), s => s.Track("Task Failed", M(0))));
    }

    [Fact]
    public void Where_PropertiesPathAndBareKey_BothReadTheProperty()
    {
        foreach (var key in new[] { "properties.task", "task" })
        {
            var rules = Rule("Task Failed", $"{{ {key}: Notifications-Setup }}");
            Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "notifications-setup" })));
            Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "notifications" })));
        }
    }

    [Fact]
    public void Where_InAndNotIn_MatchOneOfTheValues()
    {
        var inRule = Rule("Task Failed", "{ task: { in: [billing, export] } }");
        var notInRule = Rule("Task Failed", "{ task: { notIn: [billing, export] } }");

        Assert.Equal(1, Fired(inRule, s => s.Track("Task Failed", M(0), new { task = "Export" })));
        Assert.Equal(0, Fired(inRule, s => s.Track("Task Failed", M(0), new { task = "exports" })));
        Assert.Equal(1, Fired(notInRule, s => s.Track("Task Failed", M(0), new { task = "exports" })));
        Assert.Equal(0, Fired(notInRule, s => s.Track("Task Failed", M(0), new { task = "export" })));
    }

    [Theory]
    [InlineData("gte", 5000, 5000, 4999)]
    [InlineData("gt", 5000, 5001, 5000)]
    [InlineData("lte", 5000, 5000, 5001)]
    [InlineData("lt", 5000, 4999, 5000)]
    public void Where_NumericComparison_HoldsAtTheEdgeAndNotJustPast(string op, int bound, int hit, int miss)
    {
        var rules = Rule("Task Failed", $"{{ durationMs: {{ {op}: {bound} }} }}");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { durationMs = hit })));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { durationMs = miss })));
    }

    [Fact]
    public void Where_NumericComparisonOnText_NeverHolds()
    {
        Assert.Equal(0, Fired(Rule("Task Failed", "{ durationMs: { gte: 0 } }"), s => s.Track("Task Failed", M(0), new { durationMs = "slow" })));
    }

    [Fact]
    public void Where_TwoOperatorsOnOneKey_BothMustHold()
    {
        var rules = Rule("Task Failed", "{ durationMs: { gte: 100, lt: 200 } }");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { durationMs = 150 })));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { durationMs = 200 })));
    }

    [Fact]
    public void Where_Exists_TrueNeedsTheKeyFalseItsAbsence()
    {
        Assert.Equal(1, Fired(Rule("Task Failed", "{ task: { exists: true } }"), s => s.Track("Task Failed", M(0), new { task = "x" })));
        Assert.Equal(0, Fired(Rule("Task Failed", "{ task: { exists: true } }"), s => s.Track("Task Failed", M(0), new { other = "x" })));
        Assert.Equal(1, Fired(Rule("Task Failed", "{ task: { exists: false } }"), s => s.Track("Task Failed", M(0), new { other = "x" })));
        Assert.Equal(0, Fired(Rule("Task Failed", "{ task: { exists: false } }"), s => s.Track("Task Failed", M(0), new { task = "x" })));
    }

    [Fact]
    public void Where_Prefix_MatchesTheStartOnlyCaseInsensitively()
    {
        var rules = Rule("Task Failed", "{ task: { prefix: notif } }");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "Notifications-setup" })));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "setup-notifications" })));
    }

    [Fact]
    public void Where_Regex_MatchesThePattern()
    {
        var rules = Rule("Task Failed", """{ task: { regex: "^notif.*-setup$" } }""");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "notifications-setup" })));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "notifications-setup-2" })));
    }

    [Fact]
    public void Where_RegexOverItsTimeBudget_CountsAsNoMatch()
    {
        // Catastrophic backtracking: without the 10 ms budget this would run for minutes.
        var rules = Rule("Task Failed", """{ task: { regex: "^(a+)+$" } }""");

        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), new { task = new string('a', 40) + "!" })));
        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), new { task = "aaa" })));
    }

    [Fact]
    public void Where_ContextDeviceType_ReadsTheEventsDevice()
    {
        var rules = Rule("Task Failed", "{ context.device.type: mobile }");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), device: "mobile")));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), device: "desktop")));
    }

    [Fact]
    public void Where_ContextLocaleAndLocation_ReadTheEventsContext()
    {
        var rules = Rule("Task Failed", "{ context.locale: { prefix: de }, context.location.country: { in: [DE, AT] } }");
        object Context(string locale, string country) => new { locale, location = new { country }, timezone = "Europe/Berlin" };

        Assert.Equal(1, Fired(rules, s => s.Raw((id, at) => Body(id, at, new { }, Context("de-DE", "AT")), M(0))));
        Assert.Equal(0, Fired(rules, s => s.Raw((id, at) => Body(id, at, new { }, Context("de-DE", "CH")), M(0))));
        Assert.Equal(0, Fired(rules, s => s.Raw((id, at) => Body(id, at, new { }, Context("en-GB", "DE")), M(0))));
    }

    [Fact]
    public void Where_UserTraits_ReadsTheUsersProfileIncludingThisEventsTraits()
    {
        var rules = Rule("Task Failed", "{ user.traits.plan: pro }");

        Assert.Equal(1, Fired(rules, s => s.Track("Signed Up", M(0), traits: new { plan = "pro" }).Track("Task Failed", M(1))));
        Assert.Equal(0, Fired(rules, s => s.Track("Signed Up", M(0), traits: new { plan = "free" }).Track("Task Failed", M(1))));
    }

    [Fact]
    public void Where_UserDevice_ReadsTheUsersDevice()
    {
        var rules = Rule("Task Failed", "{ user.device: { in: [mobile, tablet] } }");

        Assert.Equal(1, Fired(rules, s => s.Track("Task Failed", M(0), device: "mobile")));
        Assert.Equal(0, Fired(rules, s => s.Track("Task Failed", M(0), device: "desktop")));
    }

    [Fact]
    public void Where_OnACountTrigger_CountsOnlyTheMatchingViews()
    {
        var rules = RuleSetLoader.Load("""
            version: t
            rules:
              - id: r
                trigger: { kind: count, event: page, times: 3, within: 10m, where: { name: Pricing } }
                action: { moment: conversion, channel: in_app, message: { body: hi } }
            """);

        Assert.Equal(1, Fired(rules, s => s.Page("Pricing", M(0)).Page("Pricing", M(4)).Page("Pricing", M(9))));
        Assert.Equal(0, Fired(rules, s => s.Page("Pricing", M(0)).Page("Docs", M(4)).Page("Pricing", M(9))));
    }

    [Theory]
    [InlineData("{ name: { like: Pricing } }", "unknown where operator 'like'")]
    [InlineData("""{ task: { regex: "([a-" } }""", "is not a valid pattern")]
    [InlineData("{ view.name: Pricing }", "unknown where root 'view'")]
    [InlineData("{ context.page.url: x }", "unknown context path 'context.page.url'")]
    [InlineData("{ user.nope: x }", "unknown user path 'user.nope'")]
    [InlineData("{ user.cluster: x }", "'user.cluster' cannot be used in a where")]
    [InlineData("{ durationMs: { gt: fast } }", "takes a number")]
    [InlineData("{ task: { exists: maybe } }", "exists takes true or false")]
    [InlineData("{ task: { in: x } }", "takes a non-empty list")]
    [InlineData("{ task: [a, b] }", "not a list")]
    public void Load_BadWhere_ErrorWithItsLine(string where, string message)
    {
        var yaml = $$"""
            version: t
            rules:
              - id: r
                trigger:
                  kind: event
                  event: Task Failed
                  where: {{where}}
                action: { moment: clarification, channel: in_app, message: { body: hi } }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        var error = Assert.Single(ex.Errors);
        Assert.Equal(7, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
