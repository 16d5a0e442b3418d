using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Rules.Triggers;

namespace MicroMoments.Stream.Core.Tests;

public sealed class RuleSetLoaderTests
{
    [Fact]
    public void LoadFile_DefaultRules_LoadsEveryRule()
    {
        var set = RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));

        Assert.Equal("2026-12-07.1", set.Version);
        Assert.Equal(Enum.GetValues<TriggerKind>().Order(), set.Rules.Select(r => r.Trigger.Kind).Distinct().Order());
        Assert.Contains(new CapSpec(3, TimeSpan.FromHours(1)), set.Policy.Caps);
        Assert.Contains(new CapSpec(2, TimeSpan.FromHours(48), Category: "re_engagement"), set.Policy.Caps);
    }

    [Fact]
    public void Load_NoVersion_UsesContentHash()
    {
        const string yaml = """
            rules:
              - id: r1
                trigger: { kind: event, event: Signed Up }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
            """;

        var a = RuleSetLoader.Load(yaml);
        var b = RuleSetLoader.Load(yaml + "\n# changed\n");

        Assert.StartsWith("sha256:", a.Version, StringComparison.Ordinal);
        Assert.NotEqual(a.Version, b.Version);
    }

    [Fact]
    public void Load_JsonFile_IsAccepted()
    {
        var set = RuleSetLoader.Load("""
            {"version":"j1","rules":[{"id":"r1","trigger":{"kind":"event","event":"Signed Up"},
              "action":{"moment":"curiosity","channel":"in_app","message":{"body":"hi"}}}]}
            """);

        Assert.Equal("r1", Assert.Single(set.Rules).Id);
    }

    [Fact]
    public void Load_Errors_ReportedWithLineNumbers()
    {
        const string yaml = """
            rules:
              - id: r1
                trigger: { kind: count, event: Task Failed, times: 3 }
                action: { moment: clarification, channel: in_app, message: { body: hi } }
              - id: r2
                trigger: { kind: teleport }
                action: { moment: x, channel: in_app, message: { body: hi }, colour: red }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        Assert.Contains(ex.Errors, e => e.Line == 3 && e.Message.Contains("'within' is required", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 6 && e.Message.Contains("teleport", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 7 && e.Message.Contains("unknown key 'colour'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("drop", BlockedAction.Drop)]
    [InlineData("defer", BlockedAction.Defer)]
    public void Load_OnBlocked_ReadPerRule(string value, BlockedAction expected) =>
        Assert.Equal(expected, RuleSetLoader.Load($$"""
            rules:
              - id: r1
                trigger: { kind: event, event: Ping }
                action: { moment: m, channel: in_app, message: { body: hi } }
                policy: { onBlocked: {{value}} }
            """).Rules[0].Policy.OnBlocked);

    [Fact]
    public void Load_OnBlockedUnknownOrGlobal_ErrorsWithLineNumbers()
    {
        const string yaml = """
            policies:
              onBlocked: drop
            rules:
              - id: r1
                trigger: { kind: event, event: Ping }
                action: { moment: m, channel: in_app, message: { body: hi } }
                policy: { onBlocked: later }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        Assert.Contains(ex.Errors, e => e.Line == 2 && e.Message.Contains("per-rule policy (policy.onBlocked)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 7 && e.Message.Contains("'onBlocked' is 'defer' or 'drop'", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_BrokenYaml_ReportsLine()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("rules:\n  - id: [unclosed\n"));

        Assert.True(Assert.Single(ex.Errors).Line >= 2);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("48h", 172800)]
    [InlineData("PT10M", 600)]
    [InlineData("P7D", 604800)]
    [InlineData("2.3s", 2.3)]
    public void TryParse_Duration_Parses(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Fact]
    public void Load_CountWindowUnderOneMillisecond_RejectedWithItsLine()
    {
        const string yaml = """
            rules:
              - id: r1
                trigger: { kind: count, event: Task Failed, times: 3, within: 0.0001s }
                action: { moment: friction, channel: in_app, message: { body: hi } }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        Assert.Contains(ex.Errors, e => e.Line == 3 && e.Message.Contains("'within' must be at least 1ms", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_VariantNameWithBar_RejectedWithItsLine()
    {
        const string yaml = """
            rules:
              - id: r1
                trigger: { kind: event, event: Signed Up }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
                experiment:
                  name: copy
                  variants:
                    - { name: control, weight: 1 }
                    - { name: "a|b", weight: 1 }
            """;

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(yaml));

        Assert.Contains(ex.Errors, e => e.Line == 9 && e.Message.Contains("cannot contain '|'", StringComparison.Ordinal));
    }
}
