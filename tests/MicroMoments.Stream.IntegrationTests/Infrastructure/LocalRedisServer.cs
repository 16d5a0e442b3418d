using System.Diagnostics;
using System.Globalization;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>What a test can do to a Redis it started itself: a standalone server or a whole cluster.</summary>
public interface ILocalRedis : IAsyncDisposable
{
    /// <summary>The StackExchange.Redis configuration string naming every node.</summary>
    string Configuration { get; }

    /// <summary>Stops every node with SHUTDOWN (persisting what it was told to) and waits for the processes to exit.</summary>
    Task ShutdownAsync();

    /// <summary>Starts every node again on its port and directory and waits until it serves requests.</summary>
    Task StartAsync();
}

/// <summary>
/// A <c>redis-server</c> child process on a loopback port with its own directory; it can be shut down and
/// started again on the same port and directory. Persistent servers use an fsync-always append-only file.
/// </summary>
public sealed class LocalRedisServer : ILocalRedis
{
    private readonly string[] _args;
    private readonly bool _ownsDirectory;
    private Process? _process;

    private LocalRedisServer(string directory, bool ownsDirectory, bool persistent, bool clusterNode)
    {
        Port = LoopbackPorts.Free();
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        _args =
        [
            "--port", PortText, "--bind", "127.0.0.1", "--dir", directory, "--save", "",
            .. persistent ? new[] { "--appendonly", "yes", "--appendfsync", "always" } : ["--appendonly", "no"],
            .. clusterNode ? new[] { "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000" } : [],
        ];
    }

    public int Port { get; }

    public string Directory { get; }

    public string Configuration => $"127.0.0.1:{PortText}";

    private string PortText => Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Starts a server on a free port; without <paramref name="directory"/> it gets a temporary one, deleted on dispose.</summary>
    public static async Task<LocalRedisServer> StartAsync(bool persistent = false, bool clusterNode = false, string? directory = null)
    {
        var server = new LocalRedisServer(directory ?? System.IO.Directory.CreateTempSubdirectory("mm-redis-").FullName, directory is null, persistent, clusterNode);
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException($"redis-server on port {Port} is already running");
        }
        _process?.Dispose();
        _process = Process.Start(new ProcessStartInfo("redis-server", _args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("redis-server did not start: is it installed? (apt-get install -y redis-server)");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        _process.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var process = _process;
        await Eventually.TrueAsync(async () => process.HasExited
                ? throw new InvalidOperationException($"redis-server on port {Port} exited: {string.Join('\n', log)}")
                : (await CliAsync("ping")).Contains("PONG", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), $"redis-server on port {Port} answers PING");
    }

    public async Task ShutdownAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        await CliAsync("shutdown");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
    }

    /// <summary>Runs <c>redis-cli</c> against this server and returns what it printed.</summary>
    public Task<string> CliAsync(params string[] args) => RunAsync("redis-cli", ["-p", PortText, .. args]);

    /// <summary>Runs a command line tool to its end, within 30 s (then it is killed and this throws).</summary>
    internal static async Task<string> RunAsync(string file, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await p.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within 30 s");
        }
        return await stdout + await stderr;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
        if (_ownsDirectory)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
