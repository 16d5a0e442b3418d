using System.Globalization;
using System.Text.RegularExpressions;
using NJsonSchema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>The JSON Schema of the rules file agrees with the loader on the bundled rules.</summary>
public sealed partial class RulesSchemaTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Rules");

    internal static async Task<JsonSchema> SchemaAsync()
    {
        // NJsonSchema reads draft-07 style references; the file itself is draft 2020-12.
        var text = await File.ReadAllTextAsync(Path.Combine(Dir, "rules.schema.json"));
        return await JsonSchema.FromJsonAsync(text.Replace("\"$defs\"", "\"definitions\"", StringComparison.Ordinal)
            .Replace("#/$defs/", "#/definitions/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_DefaultRules_NoErrors()
    {
        var schema = await SchemaAsync();

        var errors = schema.Validate(YamlToJson(await File.ReadAllTextAsync(Path.Combine(Dir, "default.rules.yaml"))));

        Assert.Empty(errors.Select(e => e.ToString()));
    }

    [Fact]
    public async Task Validate_CountTriggerWithoutWindow_Rejected()
    {
        var schema = await SchemaAsync();

        var errors = schema.Validate(YamlToJson("""
            rules:
              - id: r
                trigger: { kind: count, event: Task Failed, times: 3 }
                action: { moment: clarification, channel: in_app, message: { body: hi } }
            """));

        Assert.NotEmpty(errors);
    }

    [Fact]
    public async Task Validate_VariantsOnTimingAndChannel_AndBandit_NoErrorsAndTheLoaderAgrees()
    {
        const string Yaml = """
            version: v
            rules:
              - id: r
                trigger: { kind: event, event: Ping }
                action: { moment: reward, channel: push, deliver: { from: "09:00", to: "21:00" }, message: { body: hi } }
                conversion: { event: Order Completed, within: 1d }
                experiment:
                  allocation: bandit
                  holdout: 0.1
                  variants:
                    - { name: now }
                    - { name: later, delay: 1h, channel: email, deliver: best_time }
                    - { name: evening, action: { deliver: { from: "18:00", to: "21:00" }, channels: { default: email, mobile: push }, message: { body: ho } } }
            """;
        var schema = await SchemaAsync();

        Assert.Empty(schema.Validate(YamlToJson(Yaml)).Select(e => e.ToString()));
        Assert.True(Rules.RuleSetLoader.Load(Yaml).Rules[0].Experiment!.Bandit);
        Assert.NotEmpty(schema.Validate(YamlToJson(Yaml.Replace("allocation: bandit", "allocation: greedy", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task Validate_EveryWhereForm_NoErrorsAndTheLoaderAgrees()
    {
        const string Yaml = """
            version: v
            rules:
              - id: r
                trigger:
                  kind: count
                  event: page
                  times: 3
                  within: 10m
                  where:
                    name: Pricing
                    event: { in: [page] }
                    properties.plan: { notIn: [enterprise] }
                    context.device.type: { exists: true }
                    context.locale: { prefix: de }
                    user.traits.plan: { regex: "^(free|trial)$" }
                    properties.seats: { gte: 1, lt: 50 }
                    referrer: ads
                action: { moment: conversion, channel: in_app, message: { body: hi } }
            """;
        var schema = await SchemaAsync();

        Assert.Empty(schema.Validate(YamlToJson(Yaml)).Select(e => e.ToString()));
        Assert.Equal(9, Rules.RuleSetLoader.Load(Yaml).Rules[0].Trigger.Where.Clauses.Count);
        Assert.NotEmpty(schema.Validate(YamlToJson(Yaml.Replace("{ prefix: de }", "{ like: de }", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task Validate_DidAndNotDid_NoErrorsAndTheLoaderAgrees()
    {
        const string Yaml = """
            version: v
            rules:
              - id: r
                trigger: { kind: count, event: page, times: 3, within: 10m, where: { name: Pricing } }
                when:
                  - not: { did: { event: Trial Started } }
                  - not: { did: Trial Started, within: 30d }
                  - did: { event: Signed Up, where: { properties.plan: { in: [free] } }, within: 90d }
                  - did: Signed Up
                  - { path: user.device, equals: desktop }
                action: { moment: conversion, channel: in_app, message: { body: hi } }
            """;
        var schema = await SchemaAsync();

        Assert.Empty(schema.Validate(YamlToJson(Yaml)).Select(e => e.ToString()));
        Assert.Equal(["not", "not", "did", "did", "equals"], Rules.RuleSetLoader.Load(Yaml).Rules[0].Conditions.Select(c => c.Operator));
        Assert.NotEmpty(schema.Validate(YamlToJson(Yaml.Replace("did: Signed Up\n", "did: { within: 3d }\n", StringComparison.Ordinal))));
    }

    /// <summary>YAML → JSON text, keeping plain (unquoted) numbers, booleans and nulls typed as YAML 1.2 reads them.</summary>
    internal static string YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return new SerializerBuilder().JsonCompatible().Build().Serialize(ToPlain(stream.Documents[0].RootNode));
    }

    private static object? ToPlain(YamlNode node) => node switch
    {
        YamlMappingNode m => m.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => ToPlain(kv.Value)),
        YamlSequenceNode s => s.Children.Select(ToPlain).ToList(),
        YamlScalarNode { Style: ScalarStyle.Plain } p => Plain(p.Value),
        YamlScalarNode q => q.Value,
        _ => null,
    };

    private static object? Plain(string? v) =>
        v is null or "" or "~" or "null" ? null
        : v is "true" or "True" ? true
        : v is "false" or "False" ? false
        : Integer().IsMatch(v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l
        : Real().IsMatch(v) ? double.Parse(v, CultureInfo.InvariantCulture)
        : v;

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Real();
}
