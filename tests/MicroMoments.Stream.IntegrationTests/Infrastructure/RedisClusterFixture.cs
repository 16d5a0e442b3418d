using Xunit.Sdk;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>A 3-master Redis Cluster of local <c>redis-server</c> processes on random loopback ports.</summary>
public sealed class RedisClusterFixture(IMessageSink sink) : IAsyncLifetime
{
    private LocalRedisCluster? _cluster;

    public string Configuration => _cluster?.Configuration ?? "";

    public async Task InitializeAsync()
    {
        _cluster = await LocalRedisCluster.StartAsync();
        sink.OnMessage(new DiagnosticMessage($"Redis Cluster for integration tests: 3 masters at {Configuration}"));
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>Tests against a Redis Cluster, with their own broker.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "kafka+redis-cluster";
}
