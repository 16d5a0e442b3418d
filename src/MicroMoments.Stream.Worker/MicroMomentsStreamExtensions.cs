using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Demo;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MicroMoments.Stream.Worker;

/// <summary>Registers the stream worker: options validated at start, Kafka and Redis clients, the pipeline and the consume loop.</summary>
public static class MicroMomentsStreamExtensions
{
    public static IHostApplicationBuilder AddMicroMomentsStream(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.SectionName).ValidateDataAnnotations()
            .PostConfigure(o =>
            {
                if (o.InputTopics.Count == 0)
                {
                    o.InputTopics.Add(KafkaOptions.DefaultInputTopic);
                }
            })
            .Validate(o => !o.IsEmbedded, "MicroMoments:Kafka:BootstrapServers is empty and no embedded broker was started")
            .ValidateOnStart();
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => !o.IsEmbedded, "MicroMoments:Redis:Configuration is empty and no embedded store was started")
            .ValidateOnStart();
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StateOptions>().BindConfiguration(StateOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RulesOptions>().BindConfiguration(RulesOptions.SectionName)
            .Validate(o => !Directory.Exists(o.ResolvedPath), "MicroMoments:Rules:Path names a directory; it must name a rules file")
            .Validate(o => File.Exists(o.ResolvedPath) || Directory.Exists(o.ResolvedPath), "MicroMoments:Rules:Path: the rules file does not exist")
            .ValidateOnStart();
        services.AddOptions<SegmentsOptions>().BindConfiguration(SegmentsOptions.SectionName)
            .Validate(o => !o.IsSet || File.Exists(o.Path), $"{SegmentsOptions.PathKey}: the segments file does not exist")
            .ValidateOnStart();
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.SectionName);

        services.TryAddSingletonTimeProvider();
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var config = ConfigurationOptions.Parse(o.Configuration!);
            config.AbortOnConnectFail = false; // start even while Redis is down; the loop pauses until it answers
            return ConnectionMultiplexer.Connect(config);
        });
        // Backoff against a real server is wall-clock time, whatever clock the rules run on (tests drive a fake one).
        services.AddSingleton<Polly.CircuitBreaker.CircuitBreakerManualControl>();
        services.AddSingleton(sp => RedisResilience.Create(TimeProvider.System, sp.GetRequiredService<IOptions<RedisOptions>>().Value.RetryAttempts,
            sp.GetRequiredService<Polly.CircuitBreaker.CircuitBreakerManualControl>()));
        services.AddSingleton<RedisProbe>();
        services.AddSingleton<RedisTelemetry>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return new UserStateStore(sp.GetRequiredService<IConnectionMultiplexer>(), o, sp.GetRequiredService<Polly.ResiliencePipeline>(),
                sp.GetRequiredService<RedisTelemetry>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp => KafkaProducers.Create(sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("MicroMoments.Stream.Producer")));
        services.AddSingleton(sp =>
        {
            var p = sp.GetRequiredService<IOptions<PipelineOptions>>().Value;
            return new ClickEventParser(new ParserLimits { MaxFutureSkew = p.MaxFutureSkew });
        });
        services.AddSingleton(sp => new UserStateCache(sp.GetRequiredService<IOptions<PipelineOptions>>().Value.MaxCachedUsers));
        services.AddSingleton<RuleEngineProvider>();
        services.AddSingleton<PipelineTelemetry>();
        services.AddSingleton<PipelineHealth>();
        services.AddSingleton<PipelineEvents>();
        services.AddSingleton<IPipelineEvents>(sp => sp.GetRequiredService<PipelineEvents>());
        services.AddSingleton<IPublishListener>(sp => sp.GetRequiredService<PipelineEvents>());
        // The stages, in the order a batch meets them (docs/pipeline.md).
        services.AddSingleton(sp => new ParseStage(sp.GetRequiredService<ClickEventParser>(), RedisKeys.Shard, sp.GetRequiredService<IPipelineEvents>()));
        services.AddSingleton<IUserStateReader, UserStateReader>();
        services.AddSingleton<LoadStage>();
        services.AddSingleton(sp =>
        {
            var engines = sp.GetRequiredService<RuleEngineProvider>();
            return new DecideStage(() => engines.Current, sp.GetRequiredService<UserStateCache>(), sp.GetRequiredService<IPipelineEvents>());
        });
        services.AddSingleton<IRateLedger>(sp => new RedisRateLedger(sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<RedisOptions>>().Value, sp.GetRequiredService<Polly.ResiliencePipeline>(), sp.GetRequiredService<RedisTelemetry>()));
        services.AddSingleton(sp =>
        {
            var engines = sp.GetRequiredService<RuleEngineProvider>();
            return new PaceStage(() => engines.Current, sp.GetRequiredService<IRateLedger>(), sp.GetRequiredService<IPipelineEvents>());
        });
        services.AddSingleton(sp => new BatchPipeline(sp.GetRequiredService<LoadStage>(), sp.GetRequiredService<DecideStage>(),
            sp.GetRequiredService<PaceStage>(), sp.GetRequiredService<ShardOwnership>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new OutboundBuilder(sp.GetRequiredService<IOptions<KafkaOptions>>(), PipelineTelemetry.Source));
        services.AddSingleton(sp => new StatePersister(sp.GetRequiredService<UserStateStore>(), sp.GetRequiredService<ILogger<StatePersister>>(),
            sp.GetRequiredService<PipelineEvents>().SplitFound));
        services.AddSingleton<OutputTopicReader>();
        services.AddSingleton<CommandPublisher>();
        services.AddSingleton<IOutboxRecovery, OutboxRecovery>();
        services.AddSingleton<ShardOwnership>();
        services.AddSingleton<TimerIndex>();
        services.AddSingleton<PopulationSync>();
        services.AddSingleton<Core.Analytics.HourlyOutcomes>();
        services.AddSingleton<PipelineStages>();
        services.AddSingleton<PipelineWarmUp>();
        services.AddHostedService<ClickstreamWorker>();
        services.AddHostedService<RulesReloader>();
        services.AddHostedService<SegmentsReloader>();
        services.AddHealthChecks().AddCheck<PipelineHealth>("pipeline", tags: ["ready"]);

        if (DemoOptions.IsEnabled(builder.Configuration))
        {
            services.AddHostedService<DemoClickstream>();
            services.AddHostedService<InterventionConsolePrinter>();
            services.AddHostedService<DemoDeliveryService>();
        }
        return builder;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
