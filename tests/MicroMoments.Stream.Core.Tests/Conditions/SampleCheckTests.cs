using System.Globalization;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary><c>rules validate --events</c>'s counts and warnings (<see cref="SampleCheck"/>), on a small sample of Segment calls.</summary>
public sealed class SampleCheckTests
{
    /// <summary>Two users: u1 views Pricing three times in 4 minutes, u2 once, then starts a trial; both view Home.</summary>
    private static readonly string[] Sample =
    [
        Page("u1", "Home", 0), Page("u1", "Pricing", 1), Page("u1", "Pricing", 3), Page("u1", "Pricing", 5),
        Page("u2", "Home", 0), Page("u2", "Pricing", 2), Track("u2", "Trial Started", 4),
    ];

    private static string Page(string user, string name, int minute) =>
        $$$"""{"type":"page","name":"{{{name}}}","userId":"{{{user}}}","messageId":"{{{user}}}-{{{minute}}}-{{{name}}}","timestamp":"{{{T0.AddMinutes(minute).ToString("O", CultureInfo.InvariantCulture)}}}","properties":{"path":"/{{{name.ToLowerInvariant()}}}","title":"{{{name}}}"}}""";

    private static string Track(string user, string name, int minute) =>
        $$"""{"type":"track","event":"{{name}}","userId":"{{user}}","messageId":"{{user}}-{{minute}}-t","timestamp":"{{T0.AddMinutes(minute).ToString("O", CultureInfo.InvariantCulture)}}"}""";

    private static RuleSet Pricing(string where, string trialEvent = "Trial Started") => RuleSetLoader.Load($$"""
        version: pricing
        rules:
          - id: pricing-questions
            trigger: { kind: count, event: page, times: 3, within: 10m, where: {{where}} }
            when:
              - { not: { did: { event: {{trialEvent}} } } }
            action: { moment: conversion, channel: in_app, message: { title: Questions about plans?, body: Chat with us. } }
        """);

    [Fact]
    public void Run_PageNameWhere_CountsNamedMatchedAndFired()
    {
        var (rules, warnings) = SampleCheck.Run(Pricing("{ name: Pricing }"), Sample);

        var rule = Assert.Single(rules);
        Assert.Equal(("pricing-questions", "page", 6L, 2L, 4L, 2L, 1L, 1L),
            (rule.RuleId, rule.Event, rule.Named, rule.NamedUsers, rule.Matched, rule.MatchedUsers, rule.Fired, rule.FiredUsers));
        // u2's single Pricing view never triggers, so the trial condition leaves no one out here: 1 (1) either way.
        Assert.Equal((1L, 1L), (rule.Triggered, rule.TriggeredUsers));
        Assert.Equal(new ConditionSample("not did trial started", 1, 1), Assert.Single(rule.Conditions));
        Assert.Empty(warnings);
    }

    [Fact]
    public void Run_WhereKeyTheSampleNeverHas_WarnsAndNamesTheKeysItHas()
    {
        var (rules, warnings) = SampleCheck.Run(Pricing("{ view: Pricing }"), Sample);

        Assert.Equal(0, rules.Single().Matched);
        var warning = Assert.Single(warnings);
        Assert.Contains("where key 'properties.view' never occurs on 'page' events in the sample; they have name, properties.path, properties.title", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_EventNameTheSampleNeverHas_WarnsWithTheNearestOne()
    {
        var (_, warnings) = SampleCheck.Run(Pricing("{ name: Pricing }", trialEvent: "Trial Startd"), Sample);

        Assert.Contains("rule 'pricing-questions': did event 'trial startd' never occurs in the sample; did you mean 'trial started'?", warnings);
    }

    [Fact]
    public void ByConstruction_NameOfATrackEvent_WarnsThatItCanNeverHold()
    {
        var rules = RuleSetLoader.Load("""
            version: never
            rules:
              - id: never
                trigger: { kind: event, event: Signed Up, where: { name: Pricing } }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
              - id: never-either
                trigger: { kind: event, event: Signed Up, where: { event: Trial Started } }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
              - id: fine
                trigger: { kind: event, event: page, where: { name: Pricing } }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
            """);

        var warnings = SampleCheck.ByConstruction(rules);

        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.StartsWith("rule 'never': where name 'Pricing' can never hold", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("rule 'never-either': where event 'trial started' can never hold", StringComparison.Ordinal));
    }
}
