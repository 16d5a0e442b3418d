using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Issue 11, items 4 and 8: hostile rules files and templates get an error, in bounded time, never an exception.</summary>
public sealed class RulesBoundsTests
{
    private static string DwellAfter(string after) => $$"""
        rules:
          - id: r1
            trigger: { kind: dwell, view: x, after: {{after}} }
            action: { moment: m, channel: c, message: { body: b } }
        """;

    private static List<RuleError> Errors(string text)
    {
        var errors = new List<RuleError>();
        Assert.Null(RuleSetLoader.TryLoad(text, errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    [Theory]
    [InlineData("99999999d")]
    [InlineData("1e300s")]
    [InlineData("P99999999D")]
    [InlineData("367d")]
    [InlineData("P367D")]
    [InlineData("8784.1h")]
    public void Item4_DurationBeyondMaximum_LineNumberedErrorNotOverflow(string after)
    {
        var error = Assert.Single(Errors(DwellAfter(after)));

        Assert.Equal(3, error.Line);
        Assert.Contains("longer than the maximum of 366 days", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Infinityd")]
    [InlineData("-Infinityd")]
    [InlineData("NaNd")]
    [InlineData("1e-300s")]
    [InlineData("P")]
    [InlineData("PT")]
    [InlineData("0s")]
    [InlineData("5x")]
    public void Item4_DurationNotFiniteOrPositive_LineNumberedErrorNotException(string after)
    {
        var error = Assert.Single(Errors(DwellAfter(after)));

        Assert.Equal(3, error.Line);
        Assert.Contains("is not a duration", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("366d")]
    [InlineData("P366D")]
    [InlineData("8784h")]
    public void Item4_DurationAtMaximum_Accepted(string after)
    {
        var set = RuleSetLoader.Load(DwellAfter(after));

        Assert.Equal(Durations.Max, set.Rules[0].Trigger.Duration);
    }

    [Fact]
    public void Item4_EscalationAfterTenMillionDays_ValidationError()
    {
        var error = Assert.Single(Errors("""
            rules:
              - id: r1
                trigger: { kind: event, event: Signed Up }
                action: { moment: m, channel: c, message: { body: b } }
              - id: r2
                trigger: { kind: escalation, rule: r1, after: 10000000d }
                action: { moment: m, channel: c, message: { body: b2 } }
            """));

        Assert.Equal(6, error.Line);
    }

    [Theory]
    [InlineData("rules: ", "[")]
    [InlineData("{\"rules\": ", "[")]
    [InlineData("rules:\n", "- ")]
    [InlineData("rules: ", "{a: ")]
    public void Item4_HundredThousandNestedLevels_RefusedBeforeParsingWithoutStackOverflow(string prefix, string open)
    {
        var text = prefix + string.Concat(Enumerable.Repeat(open, 100_000));

        var error = Assert.Single(Errors(text));

        Assert.Contains($"nested more than {RulesFileLimits.Default.MaxDepth} deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Item4_ConfiguredLimits_FileWithinDefaultsRefusedByTighterSettings()
    {
        var text = "rules: " + string.Concat(Enumerable.Repeat("[", 12)) + string.Concat(Enumerable.Repeat("]", 12)) + "\n";
        var tight = new RulesFileLimits { MaxDepth = 8, MaxBytes = 4096, MaxNodes = 1000 };

        var errors = new List<RuleError>();
        _ = RuleSetLoader.TryLoad(text, errors, tight);

        Assert.DoesNotContain(Errors(text), e => e.Message.Contains("nested more than", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("nested more than 8 deep", StringComparison.Ordinal));
    }

    /// <summary>10^9 nodes in 341 bytes; a billion-node key took 11 s of wall time to hash before the check.</summary>
    private static string AliasBomb()
    {
        var sb = new StringBuilder("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        var previous = 'a';
        for (var name = 'b'; name <= 'i'; name++)
        {
            sb.Append($"{name}: &{name} [{string.Join(',', Enumerable.Repeat($"*{previous}", 10))}]\n");
            previous = name;
        }
        return sb.Append($"? *{previous}\n: v\nrules: []\n").ToString();
    }

    [Fact]
    public void Item4_AliasBombAsMappingKey_RefusedBeforeParsing()
    {
        var clock = Stopwatch.StartNew();

        var error = Assert.Single(Errors(AliasBomb()));

        Assert.Contains($"more than {RulesFileLimits.Default.MaxNodes} values once aliases", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Item4_AliasInsideItsOwnAnchor_Refused()
    {
        var error = Assert.Single(Errors("a: &a [x, *a]\nrules: []\n"));

        Assert.Contains("refers to a node that contains it", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Found by fuzzing (tests/fuzz/run.sh): YamlDotNet throws more than YamlException on a few dozen bytes.</summary>
    [Theory]
    [InlineData("crash-yaml-invalid-operation.yaml", "the YAML cannot be read: Operation is not valid", 4)]
    [InlineData("crash-yaml-global-tag.yaml", "the YAML cannot be read: Global tags must be valid URIs", 1)]
    [InlineData("crash-yaml-unsupported-event.yaml", "", 0)]
    [InlineData("crash-yaml-recursive-alias-stack-overflow.yaml", "", 0)]
    public void Item4_YamlDotNetThrowsOtherThanYamlException_RuleSetExceptionWithLine(string seed, string message, int line)
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "corpus", "rules", seed));
        var text = RuleSetLoader.ReadText(file, seed);

        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load(text));

        var error = ex.Errors[0];
        Assert.True(error.Line >= 1, error.ToString());
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        if (line > 0)
        {
            Assert.Equal(line, error.Line);
        }
    }

    [Fact]
    public void Item4_FewAliases_StillAccepted()
    {
        var set = RuleSetLoader.Load("""
            policies:
              caps: [&hourly { max: 3, per: 1h }]
            rules:
              - id: r1
                trigger: { kind: event, event: Signed Up }
                action: { moment: m, channel: c, message: { body: b } }
                policy: { caps: [*hourly] }
            """);

        Assert.Equal(set.Policy.Caps, set.Rules[0].Policy.Caps);
    }

    [Fact]
    public void Item4_FileLargerThanLimit_RefusedWithoutParsing()
    {
        var text = "rules: []\n#" + new string('x', RulesFileLimits.Default.MaxBytes);

        var error = Assert.Single(Errors(text));

        Assert.Equal(1, error.Line);
        Assert.Contains("larger than the limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Item4_PathIsADirectory_ClearIOException()
    {
        var dir = Directory.CreateTempSubdirectory("mm-rules-dir-").FullName;
        try
        {
            var ex = Assert.Throws<IOException>(() => RuleSetLoader.LoadFile(dir));

            Assert.Contains("is a directory", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void Item4_OversizedFile_RefusedBeforeReading()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "rules: []\n#" + new string('x', RulesFileLimits.Default.MaxBytes));

            var ex = Assert.Throws<IOException>(() => RuleSetLoader.ReadFile(path));

            Assert.Contains(RulesFileLimits.Default.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Item4_TemplateLongerThanLimit_LineNumberedError()
    {
        var body = new string('x', RulesFileLimits.MaxTemplateLength + 1);
        var error = Assert.Single(Errors($$"""
            rules:
              - id: r1
                trigger: { kind: event, event: Signed Up }
                action:
                  moment: m
                  channel: c
                  message: { body: "{{body}}" }
            """));

        Assert.Equal(7, error.Line);
        Assert.Contains($"at most {RulesFileLimits.MaxTemplateLength}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4_000)]
    [InlineData(100_000)]
    public void Item4_FallbackFollowedByThousandsOfSpaces_RendersInLinearTime(int spaces)
    {
        // Before: 20 s per message at 4,000 spaces (the regex backtracked in cubic time).
        var template = "{{a ?? " + new string(' ', spaces);
        var clock = Stopwatch.StartNew();

        var text = MessageTemplate.Render(template, _ => null, new Dictionary<string, string>());

        Assert.Equal(template, text);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Item4_ManyUnclosedPlaceholders_RenderInLinearTime()
    {
        var template = string.Concat(Enumerable.Repeat("{{a ?? " + new string(' ', 50), 20_000)) + "}";
        var clock = Stopwatch.StartNew();

        var text = MessageTemplate.Render(template, _ => null, new Dictionary<string, string>());

        Assert.Equal(template, text);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }

    /// <summary>The pattern the scanner replaced; kept here as the reference for its behaviour.</summary>
    private static readonly Regex Reference = new(
        @"\{\{\s*(?<path>[A-Za-z0-9_.\-]+)\s*(?:\|\s*(?<filter>[a-z]+)\s*)?(?:\?\?\s*(?<fallback>[^}]*?)\s*)?\}\}",
        RegexOptions.None, TimeSpan.FromSeconds(10));

    private static string RenderWithReference(string template, Func<string, string?> lookup, IReadOnlyDictionary<string, string> labels) =>
        Reference.Replace(template, m =>
        {
            var value = lookup(m.Groups["path"].Value);
            if (value is not null && m.Groups["filter"].Value == "label")
            {
                value = labels.TryGetValue(value, out var l) ? l : value.Replace('-', ' ').Replace('_', ' ');
            }
            return value ?? (m.Groups["fallback"].Success ? m.Groups["fallback"].Value : "");
        });

    [Fact]
    public void Item4_LinearRenderer_SameOutputAsFormerPattern()
    {
        const string alphabet = "{{}}  ??|ab.-_label x\t";
        var labels = new Dictionary<string, string> { ["known"] = "Known!" };
        string? Lookup(string path) => path switch { "a" => "va", "b" => "known", "a.b" => "notifications-setup", _ => null };
        var random = new Random(11);
        string[] seeds = ["{{a}}", "{{ a | label }}", "{{b|label}}", "{{a.b | label ?? x}}", "{{c ?? fall back  }}", "{{c ??}}",
            "{{{a}}}", "{{c ?? x}y}}", "{{ | }}", "{{a |}}", "{{a | ?? z}}", "{{c | label ?? z }}x{{a}}", "}}{{", "{{c ?? {{a}} }}"];
        foreach (var template in seeds.Concat(Enumerable.Range(0, 20_000).Select(_ =>
            new string(Enumerable.Range(0, random.Next(1, 24)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()))))
        {
            Assert.Equal(RenderWithReference(template, Lookup, labels), MessageTemplate.Render(template, Lookup, labels));
        }
    }

    private const string Hostile = "\"><script>alert(1)</script>/../../@evil.example?a=1#";

    [Fact]
    public void Item8_PlaceholderInUrl_PercentEncodedFallbackAndLiteralTextKept()
    {
        var url = MessageTemplate.RenderUrl("https://help.example/videos/{{trigger.task}}?from={{missing ?? a/b}}",
            p => p == "trigger.task" ? Hostile : null, new Dictionary<string, string>());

        Assert.Equal("https://help.example/videos/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2F..%2F..%2F%40evil.example%3Fa%3D1%23?from=a/b", url);
        Assert.Equal("help.example", new Uri(url).Host);
    }

    [Fact]
    public void Item8_EventTextInActionUrl_PercentEncodedBodyUnchanged()
    {
        var rules = RuleSetLoader.Load("""
            rules:
              - id: r1
                trigger: { kind: count, event: Task Failed, times: 2, within: 10m, per: task }
                action:
                  moment: m
                  channel: c
                  message:
                    body: "Stuck on {{trigger.task}}?"
                    action: { label: "Watch {{trigger.task}}", url: "https://help.example/videos/{{trigger.task}}" }
            """);
        var simulation = new OfflineSimulation(rules);
        for (var i = 0; i < 2; i++)
        {
            var line = JsonSerializer.Serialize(new
            {
                type = "track", @event = "Task Failed", userId = "u-1", messageId = $"m-{i}",
                timestamp = TestEvents.T0.AddMinutes(i).ToString("O"), properties = new { task = Hostile },
            });
            Assert.True(simulation.Feed(line, i + 1).IsValid);
        }

        var message = Assert.Single(simulation.Interventions).Message;

        Assert.Equal($"Stuck on {Hostile}?", message.Body);
        Assert.Equal($"Watch {Hostile}", message.Action!.Label);
        Assert.Equal("https://help.example/videos/" + Uri.EscapeDataString(Hostile), message.Action.Url);
        Assert.Equal("/videos/" + Uri.EscapeDataString(Hostile), new Uri(message.Action.Url!).AbsolutePath);
    }
}
