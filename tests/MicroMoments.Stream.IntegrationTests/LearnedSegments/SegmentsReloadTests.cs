using System.Diagnostics.Metrics;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>The segments file reloaded as the rules file is: a bad file keeps the last good segments, with a log line and the counter.</summary>
public sealed class SegmentsReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-segments-reload-").FullName;

    private static string File(string first, string second) => $$"""
        {
          "format": "micromoments.segments.v1",
          "features": ["activeDays", "eventsPerActiveDay", "distinctFeatures", "avgSessionMinutes", "daysSinceLastActivity", "taskFailureRate", "tenureDays"],
          "means": [10, 10, 10, 10, 10, 0.5, 10],
          "stdDevs": [2, 2, 2, 2, 2, 0.1, 2],
          "segments": [
            { "name": "{{first}}", "centroid": [1, 0, 0, 0, 0, -1, 0] },
            { "name": "{{second}}", "centroid": [-1, 0, 0, 0, 0, 1, 0] }
          ]
        }
        """;

    private static RuleEngineProvider Provider(string? segments) =>
        new(Options.Create(new RulesOptions()), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()),
            segments: Options.Create(new SegmentsOptions { Path = segments }));

    private (string Path, RuleEngineProvider Engines, SegmentsReloader Reloader, ListLoggerProvider Log, List<string> Counted) Start()
    {
        var path = Path.Combine(_dir, "segments.json");
        System.IO.File.WriteAllText(path, File("active engager", "struggling"));
        var engines = Provider(path);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var counted = new List<string>();
        var listener = new MeterListener { InstrumentPublished = (i, l) => { if (i.Name == "micromoments.stream.segments.reloads") { l.EnableMeasurementEvents(i); } } };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => counted.Add((string)tags[0].Value!));
        listener.Start();
        var log = new ListLoggerProvider();
        var reloader = new SegmentsReloader(engines, new PipelineTelemetry(meters, engines), LoggerFactory.Create(b => b.AddProvider(log)).CreateLogger<SegmentsReloader>());
        return (path, engines, reloader, log, counted);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "{ not json", "not JSON" },
        { File("a", "b").Replace("\"tenureDays\"", "\"ageDays\"", StringComparison.Ordinal), "'features'" },
        { File("a", "a"), "names two segments" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Reload_BadSegmentsFile_LastGoodKeptErrorLoggedAndCounted(string bad, string reason)
    {
        var (path, engines, reloader, log, counted) = Start();
        var good = engines.Segments!;
        System.IO.File.WriteAllText(path, bad);

        reloader.Reload(path);

        Assert.Same(good, engines.Segments);
        Assert.Equal(["active engager", "struggling"], engines.Segments!.Names);
        Assert.Equal(1, engines.FailedSegmentReloads);
        Assert.Equal(["failed"], counted);
        Assert.Contains(log.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("keeping version " + good.Version, StringComparison.Ordinal)
            && l.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_FileRemoved_LastGoodKeptAndCounted()
    {
        var (path, engines, reloader, _, counted) = Start();
        System.IO.File.Delete(path);

        reloader.Reload(path);

        Assert.Equal(["active engager", "struggling"], engines.Segments!.Names);
        Assert.Equal(["failed"], counted);
    }

    [Fact]
    public void Reload_GoodFileAfterABadOne_NewSegmentsInTheEngineAndRulesKept()
    {
        var (path, engines, reloader, log, counted) = Start();
        var rules = engines.Current.Rules;
        System.IO.File.WriteAllText(path, "{");
        reloader.Reload(path);
        System.IO.File.WriteAllText(path, File("keen", "stuck"));

        reloader.Reload(path);

        Assert.Equal(["keen", "stuck"], engines.Segments!.Names);
        Assert.Same(rules, engines.Current.Rules);
        Assert.Equal(["failed", "ok"], counted);
        Assert.Contains(log.Lines, l => l.StartsWith("Information", StringComparison.Ordinal) && l.Contains("segments keen, stuck", StringComparison.Ordinal));
    }

    [Fact]
    public void Start_BadSegmentsFile_ConfigurationErrorNamingTheKey()
    {
        var path = Path.Combine(_dir, "bad.json");
        System.IO.File.WriteAllText(path, "[]");

        var ex = Assert.Throws<OptionsValidationException>(() => Provider(path));

        Assert.Contains("MicroMoments:Segments:Path", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_NoSegmentsPath_NoSegments()
    {
        Assert.Null(Provider(null).Segments);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
