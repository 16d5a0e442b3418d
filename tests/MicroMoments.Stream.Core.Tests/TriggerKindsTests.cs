using System.Text.Json;
using System.Text.RegularExpressions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;
using NJsonSchema;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// The loader's registry of trigger kinds (<see cref="TriggerKinds"/>), what each kind's parser reads, and the JSON Schema
/// of the rules file name the same kinds and, per kind, the same keys.
/// </summary>
public sealed partial class TriggerKindsTests
{
    private static readonly string SchemaPath = Path.Combine(AppContext.BaseDirectory, "Rules", "rules.schema.json");

    /// <summary>Per kind, a trigger using every key the kind allows: the parser must accept each of them.</summary>
    private static readonly Dictionary<string, string> EveryKey = new(StringComparer.Ordinal)
    {
        ["event"] = "{ kind: event, event: Form Completed, where: { field: name } }",
        ["count"] = "{ kind: count, event: Task Failed, times: 3, within: 10m, per: task, where: { plan: pro } }",
        ["dwell"] = "{ kind: dwell, view: Welcome, after: 90s }",
        ["inactivity"] = "{ kind: inactivity, after: 48h }",
        ["absence"] = "{ kind: absence, event: Product Added, missing: Order Completed, within: 5m, per: cartId, where: { plan: pro } }",
        ["threshold"] = "{ kind: threshold, event: Feature Used, where: { plan: pro }, metric: featureUses, above: 1, below: 9, atLeast: 2, atMost: 8 }",
        ["streak"] = "{ kind: streak, event: Session Started, where: { plan: pro }, days: 5 }",
        ["escalation"] = "{ kind: escalation, after: 48h, rule: other }",
    };

    [Fact]
    public void All_ComparedWithSchema_SameKindsAndKeys()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        var defs = schema.RootElement.GetProperty("$defs");
        var problems = new List<string>();

        var registry = TriggerKinds.All.Select(k => k.Name).ToList();
        var kindEnum = defs.GetProperty("triggerKind").GetProperty("anyOf")[0].GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).ToList();
        var kindPattern = KindNames(defs.GetProperty("triggerKind").GetProperty("anyOf")[1].GetProperty("pattern").GetString()!);
        Compare(problems, "kinds in $defs.triggerKind enum", registry, kindEnum);
        Compare(problems, "kinds in $defs.triggerKind pattern", registry, kindPattern);

        var trigger = defs.GetProperty("trigger");
        var branches = trigger.GetProperty("oneOf").EnumerateArray()
            .ToDictionary(b => KindNames(b.GetProperty("properties").GetProperty("kind").GetProperty("pattern").GetString()!).Single(), StringComparer.Ordinal);
        Compare(problems, "kinds with a branch in $defs.trigger.oneOf", registry, [.. branches.Keys]);
        foreach (var kind in TriggerKinds.All)
        {
            if (branches.TryGetValue(kind.Name, out var branch))
            {
                // A branch allows exactly its own properties (additionalProperties: false applies per branch).
                var closed = branch.TryGetProperty("additionalProperties", out var more) && more.ValueKind == JsonValueKind.False;
                if (!closed)
                {
                    problems.Add($"the {kind.Name} branch of $defs.trigger.oneOf allows any key: it needs \"additionalProperties\": false");
                }
                Compare(problems, $"keys of a {kind.Name} trigger", kind.Keys, [.. branch.GetProperty("properties").EnumerateObject().Select(p => p.Name)]);
            }
        }
        Compare(problems, "keys in $defs.trigger.properties", TriggerKinds.AllKeys, [.. trigger.GetProperty("properties").EnumerateObject().Select(p => p.Name)]);

        Assert.True(problems.Count == 0, "the loader (TriggerKinds) and rules.schema.json differ:\n" + string.Join("\n", problems));
    }

    [Fact]
    public async Task Parse_EveryKeyOfEachKind_LoadsAndSchemaAccepts()
    {
        var schema = await RulesSchemaTests.SchemaAsync();
        Assert.Equal(TriggerKinds.All.Select(k => k.Name).Order(), EveryKey.Keys.Order());
        foreach (var kind in TriggerKinds.All)
        {
            var yaml = Rules(EveryKey[kind.Name]);

            var rule = RuleSetLoader.Load(yaml).Find("r")!;

            Assert.Equal(kind.Kind, rule.Trigger.Kind);
            Assert.Equal(kind.Keys.Order(StringComparer.Ordinal), KeysOf(EveryKey[kind.Name]).Order(StringComparer.Ordinal));
            Assert.Empty(schema.Validate(RulesSchemaTests.YamlToJson(yaml)).Select(e => $"{kind.Name}: {e}"));
        }
    }

    [Fact]
    public void Load_KeyOfAnotherKind_ErrorNamesTheKindsKeys()
    {
        var errors = new List<RuleError>();

        RuleSetLoader.TryLoad(Rules("{ kind: event, event: Form Completed, view: Home }"), errors);

        Assert.Equal([new RuleError(3, "unknown key 'view' (expected one of: kind, event, where)")], errors);
    }

    [Fact]
    public async Task Validate_KeyOfAnotherKind_SchemaRejects()
    {
        var schema = await RulesSchemaTests.SchemaAsync();

        var errors = schema.Validate(RulesSchemaTests.YamlToJson(Rules("{ kind: event, event: Form Completed, view: Home }")));

        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Load_UnknownKind_ErrorListsTheRegistry()
    {
        var errors = new List<RuleError>();

        RuleSetLoader.TryLoad(Rules("{ kind: \"1\", event: Form Completed }"), errors);

        Assert.Equal([new RuleError(3, "rule 'r': trigger kind '1' is not one of event, count, dwell, inactivity, absence, threshold, streak, escalation")], errors);
    }

    private static string Rules(string trigger) => $$"""
        rules:
          - id: r
            trigger: {{trigger}}
            action: { moment: m, channel: in_app, message: { body: hi } }
          - id: other
            trigger: { kind: event, event: Ping }
            action: { moment: m, channel: in_app, message: { body: hi } }
        """;

    /// <summary>The top-level keys of a flow mapping written on one line.</summary>
    private static IEnumerable<string> KeysOf(string flow) =>
        TopLevelKey().Matches(Regex.Replace(flow[1..^1], @"\{[^}]*\}", "{}")).Select(m => m.Groups[1].Value);

    /// <summary>The kind names a case-insensitive pattern such as <c>^(?:[Ee][Vv]...|...)$</c> accepts.</summary>
    private static List<string> KindNames(string pattern) =>
        [.. pattern.Trim('^', '$').Replace("(?:", "", StringComparison.Ordinal).TrimEnd(')').Split('|')
            .Select(alt => string.Concat(CaseClass().Matches(alt).Select(m => m.Groups[1].Value)))];

    private static void Compare(List<string> problems, string what, IEnumerable<string> loader, IReadOnlyCollection<string> schema)
    {
        var missing = loader.Except(schema, StringComparer.Ordinal).ToList();
        var extra = schema.Except(loader, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"{what}: the schema lacks {string.Join(", ", missing)}");
        }
        if (extra.Count > 0)
        {
            problems.Add($"{what}: the loader does not know {string.Join(", ", extra)}");
        }
    }

    [GeneratedRegex(@"(?:^|,)\s*([A-Za-z]+):")]
    private static partial Regex TopLevelKey();

    [GeneratedRegex(@"\[[A-Z]([a-z])\]")]
    private static partial Regex CaseClass();
}
