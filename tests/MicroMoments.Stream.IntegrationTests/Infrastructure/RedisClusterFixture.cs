using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using Xunit.Sdk;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>A 3-master Redis Cluster of local <c>redis-server</c> processes on random loopback ports.</summary>
public sealed class RedisClusterFixture(IMessageSink sink) : IAsyncLifetime
{
    private readonly List<Process> _nodes = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-cluster-").FullName;

    public string Configuration { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => LoopbackPorts.Free(below: 55000)).ToList(); // the cluster bus uses port + 10000
        foreach (var port in ports)
        {
            var p = port.ToString(CultureInfo.InvariantCulture);
            _nodes.Add(Process.Start(new ProcessStartInfo("redis-server",
                ["--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{p}.conf",
                 "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no", "--dir", _dir])
            { RedirectStandardOutput = true })!);
        }
        foreach (var n in _nodes)
        {
            n.BeginOutputReadLine();
        }
        var endpoints = ports.Select(p => $"127.0.0.1:{p}").ToList();
        await Eventually.TrueAsync(() => Task.FromResult(Run("redis-cli", ["-p", ports[^1].ToString(CultureInfo.InvariantCulture), "ping"]).Contains("PONG", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "cluster nodes answer");
        var created = Run("redis-cli", ["--cluster", "create", .. endpoints, "--cluster-replicas", "0", "--cluster-yes"]);
        await Eventually.TrueAsync(() => Task.FromResult(ports.All(p =>
            Run("redis-cli", ["-p", p.ToString(CultureInfo.InvariantCulture), "cluster", "info"]).Contains("cluster_state:ok", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(30), "cluster_state:ok on every node: " + created);
        Configuration = string.Join(",", endpoints);
        using var check = await ConnectionMultiplexer.ConnectAsync(Configuration);
        sink.OnMessage(new DiagnosticMessage($"Redis Cluster for integration tests: 3 masters at {Configuration}"));
    }

    private static string Run(string file, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes)
        {
            n.Kill(entireProcessTree: true);
            await n.WaitForExitAsync();
            n.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>Tests against a Redis Cluster, with their own broker.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "kafka+redis-cluster";
}
