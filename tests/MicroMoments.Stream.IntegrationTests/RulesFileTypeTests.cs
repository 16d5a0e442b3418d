using System.Diagnostics;
using System.Diagnostics.Metrics;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// The rules path is read only when it is a regular file, and never blocks: a FIFO there once blocked a thread-pool
/// thread for good, stopped every later reload and held up shutdown past 60 s.
/// </summary>
// Its subject is the rules file on disk.
[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]
[Collection(InfraCollection.Name)]
public sealed class RulesFileTypeTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-rules-type-").FullName;
    private readonly List<string> _fifos = [];

    private static string Rules(string version) => $$"""
        version: {{version}}
        rules:
          - id: r1
            trigger: { kind: event, event: Signed Up }
            action: { moment: m, channel: c, message: { body: b } }
        """;

    private static readonly TimeSpan NoBlocking = TimeSpan.FromSeconds(10);

    private void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        _fifos.Add(path);
    }

    private static RuleEngineProvider Provider(string path) =>
        new(Options.Create(new RulesOptions { Path = path }), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()));

    private (string Path, RuleEngineProvider Engines, RulesReloader Reloader, ListLoggerProvider Log) Start()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(path, Rules("good"));
        var engines = Provider(path);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var log = new ListLoggerProvider();
        var logger = LoggerFactory.Create(b => b.AddProvider(log)).CreateLogger<RulesReloader>();
        return (path, engines, new RulesReloader(engines, new PipelineTelemetry(meters, engines), logger), log);
    }

    [Fact]
    public async Task Reload_PathBecameFifo_RejectedAndCountedWithoutBlocking_ValidFileLoadedLater()
    {
        var (path, engines, reloader, log) = Start();
        File.Delete(path);
        MakeFifo(path);

        await Task.Run(() => reloader.Reload(path)).WaitAsync(NoBlocking);

        Assert.Equal(("good", 1), (engines.Current.Rules.Version, engines.FailedReloads));
        Assert.Contains(log.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("is a FIFO (named pipe), not a regular file", StringComparison.Ordinal));
        File.Delete(path);
        File.WriteAllText(path, Rules("back"));
        reloader.Reload(path);
        Assert.Equal("back", engines.Current.Rules.Version);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public async Task Reload_PathIsACharacterDevice_RejectedNamingItsKind(string device)
    {
        var (_, engines, reloader, log) = Start();

        await Task.Run(() => reloader.Reload(device)).WaitAsync(NoBlocking);

        Assert.Equal(("good", 1), (engines.Current.Rules.Version, engines.FailedReloads));
        Assert.Contains(log.Lines, l => l.Contains($"{device} is a character device, not a regular file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_RulesPathIsFifo_ConfigurationErrorNamingTheKeyWithoutBlocking()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        MakeFifo(path);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => Task.Run(() => Provider(path)).WaitAsync(NoBlocking));

        Assert.Contains("MicroMoments:Rules:Path", ex.Message, StringComparison.Ordinal);
        Assert.Contains("FIFO", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_RulesPathBecomesFifo_LaterValidFileLoadedAndStopsPromptly()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(path, Rules("v1"));
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0), new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = path });
        try
        {
            var engines = worker.Host.Services.GetRequiredService<RuleEngineProvider>();
            File.Delete(path);
            MakeFifo(path);
            await Eventually.TrueAsync(() => engines.FailedReloads > 0, TimeSpan.FromSeconds(30), "the FIFO rejected");

            File.Delete(path);
            await File.WriteAllTextAsync(path, Rules("v2"));
            await Eventually.TrueAsync(() => engines.Current.Rules.Version == "v2", TimeSpan.FromSeconds(30), "the valid file put back is loaded");

            var stopping = Stopwatch.StartNew();
            await worker.StopAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stopped in {stopping.Elapsed}");
        }
        finally
        {
            UnblockFifos(); // before the fix, a reader stuck on the FIFO would hold the host's stop forever
            await worker.DisposeAsync();
        }
    }

    /// <summary>Opens each FIFO read-write (Linux does not block that), so a reader stuck opening it goes on.</summary>
    private void UnblockFifos()
    {
        foreach (var fifo in _fifos)
        {
            try
            {
                using var _ = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            catch (IOException)
            {
                // replaced by a regular file, or gone
            }
        }
    }

    public void Dispose()
    {
        UnblockFifos();
        Directory.Delete(_dir, recursive: true);
    }
}
