using System.Net;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>The real worker host, in process, on the test's broker, Redis and fake clock.</summary>
public sealed class WorkerHarness : IAsyncDisposable
{
    private WorkerHarness(IHost host) => Host = host;

    public IHost Host { get; }

    public UserStateStore Store => Host.Services.GetRequiredService<UserStateStore>();

    public PipelineHealth Health => Host.Services.GetRequiredService<PipelineHealth>();

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>GETs a path of the worker's HTTP endpoint (e.g. <c>/healthz/ready</c>) and returns the status code.</summary>
    public async Task<HttpStatusCode> GetStatusAsync(string path)
    {
        var address = Host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var response = await Http.GetAsync(new Uri(new Uri(address), path));
        return response.StatusCode;
    }

    public static Task<WorkerHarness> StartAsync(TestStreams streams, RedisFixture redis, FakeTimeProvider clock, IDictionary<string, string?>? extra = null,
        Action<IHostApplicationBuilder>? configure = null) =>
        StartAsync(streams, redis.Configuration, clock, extra, configure);

    public static async Task<WorkerHarness> StartAsync(TestStreams streams, string redisConfiguration, FakeTimeProvider clock, IDictionary<string, string?>? extra = null,
        Action<IHostApplicationBuilder>? configure = null)
    {
        var config = streams.WorkerConfiguration(redisConfiguration);
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            config[k] = v;
        }
        var (host, infrastructure) = WorkerCommands.BuildWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(config);
            b.Services.AddSingleton<TimeProvider>(clock);
            configure?.Invoke(b);
        });
        infrastructure.Dispose(); // nothing embedded: the configuration names real servers
        var harness = new WorkerHarness(host);
        await host.StartAsync();
        return harness;
    }

    public async Task StopAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync();
        }
        catch (ObjectDisposedException)
        {
            // already stopped
        }
        Host.Dispose();
    }
}
