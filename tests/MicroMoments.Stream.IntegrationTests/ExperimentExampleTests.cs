using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The example of docs/analytics.md ("Experiments"): docs/examples/cart-experiments.rules.yaml on the committed events.</summary>
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)] // a file is its subject: no Redis
public sealed class ExperimentExampleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-exp-example-").FullName;

    private static string Repo(string path) => Path.Combine(DeploymentConfigTests.Root, path);

    [Fact]
    public async Task CartExperiments_OnTheExampleEvents_TimingArmsAndTheBanditReport()
    {
        var decisions = Path.Combine(_dir, "decisions.ndjson");

        var (exit, stdout, stderr) = CommandLineTests.Simulate("--events", Repo("docs/examples/events.ndjson"),
            "--rules", Repo("docs/examples/cart-experiments.rules.yaml"), "--decisions", decisions);

        Assert.Equal((0, ""), (exit, stderr));
        var commands = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("\"io.micromoments.intervention.v1\"", StringComparison.Ordinal))
            .Select(l => InterventionCloudEvents.Decode(System.Text.Encoding.UTF8.GetBytes(l))).Where(c => c.RuleId == "cart-timing").ToList();
        Assert.All(commands.Where(c => c.Variant == "now"), c => Assert.Equal(("push", c.DecidedAt), (c.Channel, c.DeliverAfter)));
        Assert.All(commands.Where(c => c.Variant == "later"), c => Assert.Equal(("email", c.DecidedAt.AddHours(1)), (c.Channel, c.DeliverAfter)));
        Assert.Equal(["later", "now"], commands.Select(c => c.Variant).Distinct().Order());

        using var report = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(["--decisions", decisions], new ConfigurationBuilder().Build(), report, TextWriter.Null));
        var text = report.ToString();
        Assert.Contains("Bandit allocation of cart-offer", text, StringComparison.Ordinal);
        // The bandit's table as docs/analytics.md prints it, line for line.
        var doc = File.ReadAllText(Repo("docs/analytics.md"));
        var block = doc[doc.IndexOf("```text\nBandit allocation of cart-offer", StringComparison.Ordinal)..];
        block = block[8..block.IndexOf("\n```", 8, StringComparison.Ordinal)];
        Assert.All(block.Split('\n'), line => Assert.Contains(line, text, StringComparison.Ordinal));
        Assert.Matches(@"cart-offer\s+holdout\s+\d+\s+0\s+\d+", text);
        Assert.Matches(@"cart-timing\s+later\s+\d+\s+\d+\s+0\s+[1-9]", text); // later reminders withdrawn by an order within the hour
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
