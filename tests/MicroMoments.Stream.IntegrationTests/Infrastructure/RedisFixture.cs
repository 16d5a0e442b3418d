using StackExchange.Redis;
using Testcontainers.Redis;
using Xunit.Sdk;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// A real Redis for a test collection: <c>MicroMoments__Redis__Configuration</c> when set; a local 3-master
/// Redis Cluster when <c>MICROMOMENTS_TEST_REDIS=cluster</c>; else a Testcontainers Redis when Docker answers,
/// or a <c>redis-server</c> child process on a loopback port.
/// </summary>
public sealed class RedisFixture(IMessageSink sink) : IAsyncLifetime
{
    /// <summary>The environment variable that switches the whole suite to Redis Cluster.</summary>
    public const string ModeVariable = "MICROMOMENTS_TEST_REDIS";

    /// <summary>True when the suite runs against Redis Cluster (<c>MICROMOMENTS_TEST_REDIS=cluster</c>).</summary>
    public static bool ClusterMode { get; } = string.Equals(Environment.GetEnvironmentVariable(ModeVariable), "cluster", StringComparison.OrdinalIgnoreCase);

    /// <summary>A Redis of the suite's kind that the test owns and may stop and start: a server, or a cluster in cluster mode.</summary>
    public static async Task<ILocalRedis> StartPrivateAsync(bool persistent) =>
        ClusterMode ? await LocalRedisCluster.StartAsync(persistent: persistent) : await LocalRedisServer.StartAsync(persistent);

    private RedisContainer? _container;
    private ILocalRedis? _local;

    public string Configuration { get; private set; } = "";

    public string Kind { get; private set; } = "";

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("MicroMoments__Redis__Configuration") is { Length: > 0 } configured)
        {
            Configuration = configured;
            Kind = "configured Redis";
        }
        else if (ClusterMode)
        {
            _local = await LocalRedisCluster.StartAsync();
            Configuration = _local.Configuration;
            Kind = "local Redis Cluster (3 masters)";
        }
        else if (Docker.IsAvailable)
        {
            _container = new RedisBuilder("redis:7-alpine").Build();
            await _container.StartAsync();
            Configuration = _container.GetConnectionString();
            Kind = "Testcontainers Redis";
        }
        else
        {
            _local = await LocalRedisServer.StartAsync();
            Configuration = _local.Configuration;
            Kind = "redis-server child process";
        }
        Connection = await ConnectionMultiplexer.ConnectAsync(Configuration + ",abortConnect=false,allowAdmin=true");
        sink.OnMessage(new DiagnosticMessage($"Redis for integration tests: {Kind} at {Configuration}"));
    }

    /// <summary>The primaries: one for a single server, every master of a cluster.</summary>
    public IEnumerable<IServer> Primaries => Connection.GetServers().Where(s => !s.IsReplica);

    public async Task DisposeAsync()
    {
        Connection?.Dispose();
        if (_local is not null)
        {
            await _local.DisposeAsync();
        }
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
