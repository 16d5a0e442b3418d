using System.Diagnostics.Metrics;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Issue 11, item 4: a hostile rules file, at start or as a hot reload, is an error and never stops the worker.</summary>
public sealed class RulesReloadBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-rules-bounds-").FullName;

    private const string Good = """
        version: good
        rules:
          - id: r1
            trigger: { kind: event, event: Signed Up }
            action: { moment: m, channel: c, message: { body: b } }
        """;

    public static TheoryData<string, string> HostileFiles => new()
    {
        { "rules: " + new string('[', 100_000), "nested more than" },
        { Good.Replace("event: Signed Up }", "event: Signed Up }\n    policy: { cooldown: 99999999d }", StringComparison.Ordinal), "maximum of 366 days" },
        { Good.Replace("event: Signed Up }", "event: Signed Up }\n    policy: { cooldown: Infinityd }", StringComparison.Ordinal), "not a duration" },
        { "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
            + "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n? *e\n: v\n", "aliases" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void Item4_HotReloadOfHostileFile_ErrorLoggedLastGoodRulesKept(string hostile, string reason)
    {
        var (path, engines, reloader, log) = Start();
        File.WriteAllText(path, hostile);

        reloader.Reload(path);

        Assert.Equal(("good", 1), (engines.Current.Rules.Version, engines.FailedReloads));
        Assert.Contains(log.Errors, e => e.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Item4_HotReloadWhenPathBecameADirectory_ErrorLoggedLastGoodRulesKept()
    {
        var (path, engines, reloader, log) = Start();
        File.Delete(path);
        Directory.CreateDirectory(path);

        reloader.Reload(path);

        Assert.Equal(("good", 1), (engines.Current.Rules.Version, engines.FailedReloads));
        Assert.Contains(log.Errors, e => e.Contains("is a directory", StringComparison.Ordinal));
    }

    [Fact]
    public void Item4_StartWithDirectoryAsRulesPath_ConfigurationErrorNamingTheKey()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Provider(_dir));

        Assert.Contains("MicroMoments:Rules:Path", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", ex.Message, StringComparison.Ordinal);
    }

    private static RuleEngineProvider Provider(string path) =>
        new(Options.Create(new RulesOptions { Path = path }), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()));

    private (string Path, RuleEngineProvider Engines, RulesReloader Reloader, ErrorLog Log) Start()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(path, Good);
        var engines = Provider(path);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var log = new ErrorLog();
        return (path, engines, new RulesReloader(engines, new PipelineTelemetry(meters, engines), log), log);
    }

    private sealed class ErrorLog : ILogger<RulesReloader>
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Errors.Add(formatter(state, exception) + exception?.Message);
            }
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
