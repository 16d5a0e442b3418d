using MicroMoments.Stream.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker;

/// <summary>The executable's commands (docs/cli.md): <c>run</c> (default), <c>rules validate</c>, <c>simulate</c>, <c>segment</c>, ….</summary>
public static class WorkerCommands
{
    public static async Task<int> RunAsync(string[] args) => args switch
    {
        [] or ["run", ..] => await RunWorkerAsync(args.Length > 0 ? args[1..] : args),
        ["rules", "validate", var file] => RulesValidateCommand.Run(file, null, Console.Out, Console.Error),
        ["rules", "validate", var file, "--events", var events] => RulesValidateCommand.Run(file, events, Console.Out, Console.Error),
        ["simulate", .. var rest] => SimulateCommand.Run(rest, Console.Out, Console.Error, Configuration()),
        ["explain", .. var rest] => await ExplainCommand.RunAsync(rest, Configuration(), Console.Out, Console.Error),
        ["report", .. var rest] => await ReportCommand.RunAsync(rest, Configuration(), Console.Out, Console.Error),
        ["segment", .. var rest] => Segments.SegmentCommand.Run(rest, Console.Out, Console.Error),
        ["loadgen", .. var rest] => await RunLoadGeneratorAsync(rest),
        _ => Usage(),
    };

    private static int Usage()
    {
        Console.Error.WriteLine("""
            usage: MicroMoments.Stream.Worker [command]
              run                      the worker (default)
              rules validate <file> [--events <sample.ndjson>]
                                       check a rules file; exit 0 or a list of errors with line numbers; with a
                                       sample, per rule what matches, and warnings for names the sample never has
              explain --user <id> [--raw]
                                       the user's state in words (--raw: as stored), timers and recent decisions, from Redis
              loadgen                  publish synthetic personas to MicroMoments__Kafka__BootstrapServers (MicroMoments__LoadGen__EventsPerSecond)
              report [--json] [--decisions <file>] [--events <file.ndjson>]
                                       response rates per rule and variant with significance, trigger frequency, retention at
                                       days 1, 3, 7, 14, 30 by sign-up day and of treated against control users (from Redis, or
                                       from a decisions file written by simulate --decisions and/or the raw events)
              simulate --events <file.ndjson> [--rules <file>] [--until <ISO time> | --drain <ISO duration>] [--decisions <file>]
                                       offline and deterministic: prints each intervention's CloudEvent, one per line
              simulate --compare <rules-a> <rules-b> --events <file.ndjson> [--json]
                                       back-test: per-rule counts of both runs and their difference, and the users whose outcome changed
              segment --events <file.ndjson> --k <n> [--out <segments.json>] [--at <ISO time>] [--assignments <file>]
                                       k-means segments on behavioural features: each segment's size, profile and suggested name
            """);
        return 2;
    }

    /// <summary>The same configuration sources as the worker: appsettings.json, then environment variables.</summary>
    private static IConfiguration Configuration() =>
        new ConfigurationBuilder().SetBasePath(AppContext.BaseDirectory).AddJsonFile("appsettings.json", optional: true).AddEnvironmentVariables().Build();

    /// <summary>Health endpoints bind here unless <c>urls</c> (or ASPNETCORE_URLS) says otherwise.</summary>
    public const string DefaultUrls = "http://+:8080";

    /// <summary>Builds the worker host; embedded servers are started here when not configured.</summary>
    public static (IHost Host, EmbeddedInfrastructure Infrastructure) BuildWorker(string[] args, Action<IHostApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        configure?.Invoke(builder);
        using var bootstrapLogging = LoggerFactory.Create(b => b
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddFilter("MicroMoments", LogLevel.Information)
            .AddFilter("ArgParser", LogLevel.Error) // Garnet warns that it ignores its own logging options
            .SetMinimumLevel(LogLevel.Warning));
        var infrastructure = EmbeddedInfrastructure.StartIfNeeded(builder.Configuration, bootstrapLogging);
        if (string.IsNullOrWhiteSpace(builder.Configuration["urls"]))
        {
            // The demo may run beside anything: a free loopback port. Production: 8080 on every interface.
            builder.WebHost.UseUrls(infrastructure.KafkaEmbedded || infrastructure.RedisEmbedded ? "http://127.0.0.1:0" : DefaultUrls);
        }
        builder.AddServiceDefaults();
        builder.AddMicroMomentsStream();
        var app = builder.Build();
        app.MapServiceDefaults();
        WebConsole.ConsoleEndpoints.MapMicroMomentsConsole(app);
        return (app, infrastructure);
    }

    private static async Task<int> RunLoadGeneratorAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrWhiteSpace(builder.Configuration["MicroMoments:Kafka:BootstrapServers"]))
        {
            await Console.Error.WriteLineAsync("loadgen publishes to a real broker: set MicroMoments__Kafka__BootstrapServers");
            return 2;
        }
        builder.Services.AddOptions<Kafka.KafkaOptions>().BindConfiguration(Kafka.KafkaOptions.SectionName);
        builder.Services.AddOptions<Demo.LoadGenOptions>().BindConfiguration(Demo.LoadGenOptions.SectionName);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<Demo.LoadGenerator>();
        await builder.Build().RunAsync();
        return 0;
    }

    private static async Task<int> RunWorkerAsync(string[] args)
    {
        var (host, infrastructure) = BuildWorker(args);
        using (infrastructure)
        {
            try
            {
                await host.RunAsync();
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                await Console.Error.WriteLineAsync("invalid configuration: " + string.Join("; ", ex.Failures));
                return 2;
            }
            finally
            {
                host.Dispose();
            }
        }
        return Environment.ExitCode;
    }
}
