using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Demo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// Starts an in-process Kafka-protocol broker and a Redis-compatible store when their configuration is
/// empty (docs/configuration.md), and points the configuration at them. Pointing the configuration at real
/// servers turns all of it off.
/// </summary>
public sealed partial class EmbeddedInfrastructure : IDisposable
{
    private EmbeddedKafkaCluster? _kafka;
    private EmbeddedRedisServer? _redis;

    public bool KafkaEmbedded => _kafka is not null;
    public bool RedisEmbedded => _redis is not null;

    public static EmbeddedInfrastructure StartIfNeeded(IConfigurationManager config, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger<EmbeddedInfrastructure>();
        var infra = new EmbeddedInfrastructure();
        var values = new Dictionary<string, string?>();
        if (string.IsNullOrWhiteSpace(config["MicroMoments:Kafka:BootstrapServers"]))
        {
            var kafka = config.GetSection(KafkaOptions.SectionName).Get<KafkaOptions>() ?? new KafkaOptions();
            infra._kafka = EmbeddedKafkaCluster.Start();
            var inputs = kafka.InputTopics.Count > 0 ? kafka.InputTopics : [KafkaOptions.DefaultInputTopic];
            foreach (var topic in inputs)
            {
                infra._kafka.CreateTopic(topic, kafka.EmbeddedPartitions);
            }
            foreach (var topic in new[] { kafka.OutputTopic, kafka.DeadLetterTopic, kafka.DecisionTopic }.Where(t => !string.IsNullOrWhiteSpace(t)))
            {
                infra._kafka.CreateTopic(topic!, kafka.EmbeddedPartitions);
            }
            values["MicroMoments:Kafka:BootstrapServers"] = infra._kafka.BootstrapServers;
            values["MicroMoments:Kafka:Embedded"] = "true";
            LogKafka(logger, infra._kafka.BootstrapServers, kafka.EmbeddedPartitions);
        }
        if (string.IsNullOrWhiteSpace(config["MicroMoments:Redis:Configuration"]))
        {
            infra._redis = EmbeddedRedisServer.Start(loggerFactory);
            values["MicroMoments:Redis:Configuration"] = infra._redis.Configuration;
            values["MicroMoments:Redis:Embedded"] = "true";
            LogRedis(logger, infra._redis.Configuration);
            var (explain, report) = CommandsReaching(infra._redis.Configuration, Personas.Skeptic);
            LogReach(logger, explain, report);
        }
        if (values.Count > 0)
        {
            config.AddInMemoryCollection(values);
        }
        return infra;
    }

    /// <summary>
    /// The <c>explain</c> and <c>report</c> command lines that read the embedded store from another terminal while this
    /// process runs: this executable (or <c>dotnet</c> and the worker's assembly), with the store's address in the environment.
    /// </summary>
    public static (string Explain, string Report) CommandsReaching(string redisConfiguration, string userId)
    {
        var process = Environment.ProcessPath ?? "dotnet";
        var self = Path.GetFileNameWithoutExtension(process) == "dotnet" && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll
            ? $"{Quote(process)} {Quote(dll)}" : Quote(process);
        var prefix = $"MicroMoments__Redis__Configuration={Quote(redisConfiguration)} {self}";
        return ($"{prefix} explain --user {userId}", $"{prefix} report");
    }

    // POSIX shell quoting: the address holds a comma, a path may hold spaces.
    private static string Quote(string value) => value.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':')
        ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public void Dispose()
    {
        _redis?.Dispose();
        _kafka?.Dispose();
    }

    [LoggerMessage(1, LogLevel.Warning, "No MicroMoments__Kafka__BootstrapServers: started an embedded in-process Kafka-protocol broker at {Bootstrap} ({Partitions} partitions per topic). For demos and tests only.")]
    private static partial void LogKafka(ILogger logger, string bootstrap, int partitions);

    [LoggerMessage(2, LogLevel.Warning, "No MicroMoments__Redis__Configuration: started an embedded Redis-compatible store (Garnet) at {Configuration}. It is NOT durable: all state is lost when the process stops.")]
    private static partial void LogRedis(ILogger logger, string configuration);

    [LoggerMessage(3, LogLevel.Information, "Read the embedded store from another terminal while this runs: {Explain} (any user id; the demo's are in docs/demo.md), or {Report}")]
    private static partial void LogReach(ILogger logger, string explain, string report);
}
