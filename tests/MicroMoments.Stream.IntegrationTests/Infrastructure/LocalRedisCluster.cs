using StackExchange.Redis;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// A Redis Cluster of local <c>redis-server</c> masters (no replicas), each with its own port and directory,
/// so the whole cluster can be shut down and started again with its slots and data.
/// </summary>
public sealed class LocalRedisCluster : ILocalRedis
{
    private readonly List<LocalRedisServer> _nodes;
    private readonly string _directory;

    private LocalRedisCluster(List<LocalRedisServer> nodes, string directory)
    {
        _nodes = nodes;
        _directory = directory;
    }

    public string Configuration => string.Join(",", _nodes.Select(n => n.Configuration));

    /// <summary>The masters, to stop and start one at a time.</summary>
    public IReadOnlyList<LocalRedisServer> Nodes => _nodes;

    /// <summary>The masters serving the keys' slots, as a cluster-aware client routes them.</summary>
    public async Task<LocalRedisServer[]> OwnersAsync(IEnumerable<RedisKey> keys)
    {
        using var client = await ConnectionMultiplexer.ConnectAsync(Configuration);
        var db = client.GetDatabase();
        return keys.Select(k => _nodes.Single(n => db.IdentifyEndpoint(k)!.ToString()!.EndsWith($":{n.Port}", StringComparison.Ordinal))).ToArray();
    }

    public static async Task<LocalRedisCluster> StartAsync(int masters = 3, bool persistent = false)
    {
        var directory = Directory.CreateTempSubdirectory("mm-cluster-").FullName;
        var cluster = new LocalRedisCluster([], directory);
        try
        {
            for (var i = 0; i < masters; i++)
            {
                cluster._nodes.Add(await LocalRedisServer.StartAsync(persistent, clusterNode: true, Directory.CreateDirectory(Path.Combine(directory, $"node{i}")).FullName));
            }
            var created = await LocalRedisServer.RunAsync("redis-cli", ["--cluster", "create", .. cluster._nodes.Select(n => n.Configuration), "--cluster-replicas", "0", "--cluster-yes"]);
            await cluster.WaitUntilServingAsync(created);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    public async Task ShutdownAsync()
    {
        foreach (var node in _nodes)
        {
            await node.ShutdownAsync();
        }
    }

    public async Task StartAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StartAsync();
        }
        await WaitUntilServingAsync("restarted");
    }

    /// <summary>Every node reports cluster_state:ok and a cluster-aware client connects.</summary>
    private async Task WaitUntilServingAsync(string context)
    {
        await Eventually.TrueAsync(async () =>
        {
            foreach (var node in _nodes)
            {
                if (!(await node.CliAsync("cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(30), "cluster_state:ok on every node: " + context);
        using var check = await ConnectionMultiplexer.ConnectAsync(Configuration);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }
}
