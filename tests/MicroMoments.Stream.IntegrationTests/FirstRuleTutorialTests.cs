using System.Text.RegularExpressions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>docs/first-rule.md: every command in its shell blocks runs, and what it shows is what they print.</summary>
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)] // a file is its subject: no Redis
public sealed partial class FirstRuleTutorialTests : IDisposable
{
    private const string Prefix = "dotnet run --project src/MicroMoments.Stream.Worker -- ";
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-tutorial-").FullName;
    private static readonly string Doc = File.ReadAllText(Path.Combine(DeploymentConfigTests.Root, "docs", "first-rule.md"));

    /// <summary>The offline commands of the tutorial (the last block starts the worker itself, which other tests cover).</summary>
    private static List<string[]> Commands() => [.. Doc.Split('\n').Where(l => l.StartsWith(Prefix, StringComparison.Ordinal))
        .Select(l => l[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))];

    private string Resolve(string arg) =>
        arg.StartsWith("docs/", StringComparison.Ordinal) || arg.StartsWith("src/", StringComparison.Ordinal) ? Path.Combine(DeploymentConfigTests.Root, arg)
        : arg.EndsWith(".ndjson", StringComparison.Ordinal) ? Path.Combine(_dir, arg) // an output the reader writes in their own folder
        : arg;

    [Fact]
    public void Tutorial_EveryCommand_RunsAndPrintsWhatTheTextShows()
    {
        var commands = Commands();
        Assert.Equal(3, commands.Count);

        // 3. rules validate --events
        var validate = commands.Single(c => c is ["rules", "validate", ..]);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, RulesValidateCommand.Run(Resolve(validate[2]), Resolve(validate[4]), stdout, stderr));
        Assert.Empty(stderr.ToString());
        Assert.Matches(@"pricing-questions\s+page\s+18 \(5\)\s+17 \(5\)\s+3 \(2\)", stdout.ToString());
        Assert.Matches(@"trigger alone \(no when\)\s+4 \(3\)\s+when not did trial started\s+3 \(2\)", stdout.ToString());
        // The output block of the text, line for line.
        var block = Doc[Doc.IndexOf("```text\ndocs/examples/pricing.rules.yaml", StringComparison.Ordinal)..];
        block = block[8..block.IndexOf("\n```", 8, StringComparison.Ordinal)];
        var printed = stdout.ToString().Replace(DeploymentConfigTests.Root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal); // run from the repo root
        Assert.All(block.Split('\n'), line => Assert.Contains(line, printed, StringComparison.Ordinal));

        // 4. simulate: u-ana now, u-dee after quiet hours; the afternoon visits expire, u-dee is deferred
        var simulate = commands.Single(c => c is ["simulate", "--events", ..]);
        var (exit, output, errors) = CommandLineTests.Simulate([.. simulate[1..].Select(Resolve)]);
        Assert.Equal((0, ""), (exit, errors));
        var sent = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Core.Interventions.InterventionCloudEvents.Decode(System.Text.Encoding.UTF8.GetBytes(l))).ToList();
        Assert.Equal([("u-ana", "2026-12-01T09:06:00"), ("u-dee", "2026-12-02T06:00:00")],
            sent.Select(c => (c.UserId, c.DeliverAfter.UtcDateTime.ToString("s", System.Globalization.CultureInfo.InvariantCulture))));
        var decisions = File.ReadAllText(Path.Combine(_dir, "pricing.decisions.ndjson"));
        Assert.Contains("\"userId\":\"u-ana\",\"ruleId\":\"pricing-questions\",\"ruleVersion\":\"pricing-1\",\"outcome\":\"suppressed\",\"reason\":\"expired\"", decisions, StringComparison.Ordinal);
        Assert.Contains("\"userId\":\"u-dee\",\"ruleId\":\"pricing-questions\",\"ruleVersion\":\"pricing-1\",\"outcome\":\"deferred\",\"reason\":\"quiet_hours\"", decisions, StringComparison.Ordinal);

        // 5. simulate --compare: u-eve is the one user whose outcome changes
        var compare = commands.Single(c => c is ["simulate", "--compare", ..]);
        (exit, output, _) = CommandLineTests.Simulate([.. compare[1..].Select(Resolve)]);
        Assert.Equal(0, exit);
        Assert.Contains("Users whose outcome changed: 1", output, StringComparison.Ordinal);
        Assert.Matches(@"u-eve\s+\(no decision\)\s+pricing-questions emitted", output);
    }

    [Fact]
    public void Tutorial_ItsMistakes_WarnAsTheTextSays()
    {
        var rules = File.ReadAllText(Path.Combine(DeploymentConfigTests.Root, "docs", "examples", "pricing.rules.yaml"));
        var events = Path.Combine(DeploymentConfigTests.Root, "docs", "examples", "pricing.ndjson");
        string Warnings(string text)
        {
            var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yaml");
            File.WriteAllText(path, text);
            using var stderr = new StringWriter();
            Assert.Equal(0, RulesValidateCommand.Run(path, events, TextWriter.Null, stderr));
            return stderr.ToString();
        }

        Assert.Contains("where key 'properties.view' never occurs on 'page' events in the sample; they have context.timezone, name, properties.path, properties.title",
            Warnings(rules.Replace("where: { name: Pricing }", "where: { view: Pricing }", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("did you mean 'trial started'?", Warnings(rules.Replace("event: Trial Started", "event: Trial Startd", StringComparison.Ordinal)), StringComparison.Ordinal);
        // The validate block's expected text, as the tutorial prints it.
        Assert.Matches(TextBlock(), Doc);
    }

    [GeneratedRegex(@"pricing-questions\s+page\s+18 \(5\)\s+17 \(5\)\s+3 \(2\)")]
    private static partial Regex TextBlock();

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
