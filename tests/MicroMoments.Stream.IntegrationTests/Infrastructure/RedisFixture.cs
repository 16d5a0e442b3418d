using System.Diagnostics;
using StackExchange.Redis;
using Testcontainers.Redis;
using Xunit.Sdk;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// A real Redis for a test collection: <c>MicroMoments__Redis__Configuration</c> when set, a Testcontainers
/// Redis when Docker answers, else a <c>redis-server</c> child process on a random loopback port.
/// </summary>
public sealed class RedisFixture(IMessageSink sink) : IAsyncLifetime
{
    private RedisContainer? _container;
    private Process? _process;

    public string Configuration { get; private set; } = "";

    public string Kind { get; private set; } = "";

    public int Port { get; private set; }

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("MicroMoments__Redis__Configuration") is { Length: > 0 } configured)
        {
            Configuration = configured;
            Kind = "configured Redis";
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
            await StartServerAsync();
            Kind = "redis-server child process";
        }
        Connection = await ConnectionMultiplexer.ConnectAsync(Configuration + ",abortConnect=false,allowAdmin=true");
        sink.OnMessage(new DiagnosticMessage($"Redis for integration tests: {Kind} at {Configuration}"));
    }

    /// <summary>Starts the local redis-server and waits until it answers PING.</summary>
    private async Task StartServerAsync()
    {
        if (Port == 0)
        {
            Port = LoopbackPorts.Free();
            Configuration = $"127.0.0.1:{Port}";
        }
        _process = Process.Start(new ProcessStartInfo("redis-server",
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("redis-server did not start: is it installed? (apt-get install -y redis-server)");
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return true;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "redis-server answers PING");
    }

    public async Task DisposeAsync()
    {
        Connection?.Dispose();
        if (_process is not null)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
