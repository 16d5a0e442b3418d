using MicroMoments.Stream.Worker;
using Microsoft.Extensions.Configuration;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary><c>report --events</c>: retention from raw events, and the examples docs/analytics.md shows.</summary>
public sealed class RetentionReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-rr-").FullName;

    private static string Repo(string path) => Path.Combine(DeploymentConfigTests.Root, path);

    private static async Task<(int Exit, string Out, string Err)> ReportAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ReportCommand.RunAsync(args, new ConfigurationBuilder().Build(), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private static void AssertInAnalyticsDoc(IEnumerable<string> lines)
    {
        var doc = Lines(File.ReadAllText(Repo("docs/analytics.md"))).ToHashSet(StringComparer.Ordinal);
        Assert.All(lines.Where(l => l.Length > 0), l => Assert.Contains(l, doc));
    }

    [Fact]
    public async Task ReportEvents_TheDocsOneDayExample_CohortCurvesOnlyAsDocumented()
    {
        var (exit, stdout, stderr) = await ReportAsync("--events", Repo("docs/examples/events.ndjson"));

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        Assert.DoesNotContain("Responses by rule", stdout, StringComparison.Ordinal);
        Assert.Contains("2026-11-23        60        -        -        -        -        -", Lines(stdout));
        Assert.Contains("needs decisions, give --decisions <file>", stdout, StringComparison.Ordinal);
        AssertInAnalyticsDoc(Lines(stdout));
    }

    [Fact]
    public async Task ReportEvents_TheDocsRetentionExampleWithDecisions_TheDocumentedTables()
    {
        var (exit, stdout, stderr) = await ReportAsync("--events", Repo("docs/examples/retention.ndjson"),
            "--decisions", Repo("docs/examples/retention.decisions.ndjson"));

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var lines = Lines(stdout);
        Assert.Contains(lines, l => l.StartsWith("Responses by rule", StringComparison.Ordinal));
        var retention = lines.SkipWhile(l => !l.StartsWith("Retention by sign-up day", StringComparison.Ordinal)).ToList();
        Assert.Contains(retention, l => l.StartsWith("* (every rule) treated ", StringComparison.Ordinal));
        AssertInAnalyticsDoc(retention);
    }

    [Fact]
    public async Task ReportEvents_MalformedLine_ReportedWithItsNumberAndSkipped()
    {
        var events = Path.Combine(_dir, "e.ndjson");
        await File.WriteAllLinesAsync(events, [
            """{"type":"track","event":"Signed Up","userId":"a","messageId":"a0","timestamp":"2026-11-01T10:00:00Z"}""",
            "{not json",
            """{"type":"track","event":"Feature Used","userId":"a","messageId":"a1","timestamp":"2026-11-03T10:00:00Z"}""",
        ]);

        var (exit, stdout, stderr) = await ReportAsync("--events", events, "--json");

        Assert.Equal(0, exit);
        Assert.StartsWith("line 2: ", stderr, StringComparison.Ordinal);
        Assert.Contains("\"observedThrough\": \"2026-11-03\"", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportEvents_MissingFile_Exit2()
    {
        var (exit, _, stderr) = await ReportAsync("--events", Path.Combine(_dir, "missing.ndjson"));

        Assert.Equal(2, exit);
        Assert.Contains("cannot read --events", stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
