using System.Net;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker.WebConsole;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests.Console;

/// <summary>Who may read the console: open on loopback, the token beyond it, off without one.</summary>
[Collection(InfraCollection.Name)]
public sealed class ConsoleAccessTests(KafkaFixture kafka, RedisFixture redis)
{
    private const string Token = "s3cret-console-token";

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://127.0.0.2:8080", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://10.1.2.3:8080", false)]
    public void LoopbackOnly_Address_ClassifiedByItsHost(string address, bool loopback) =>
        Assert.Equal(loopback, ConsoleAccess.LoopbackOnly([address]));

    [Fact]
    public void LoopbackOnly_OneOfSeveralBeyondLoopback_IsNotLoopbackOnly() =>
        Assert.False(ConsoleAccess.LoopbackOnly(["http://127.0.0.1:8080", "http://0.0.0.0:8081"]));

    [Fact]
    public void Decide_BeyondLoopbackWithoutConfiguredToken_IsOff() =>
        Assert.Equal(ConsoleVerdict.Off, ConsoleAccess.Decide(false, null, new DefaultHttpContext().Request));

    [Fact]
    public async Task Console_BoundToEveryInterfaceWithAToken_RefusesRequestsWithoutItAndServesThoseWithIt()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0),
            new Dictionary<string, string?> { ["urls"] = "http://0.0.0.0:0", ["MicroMoments:Console:Token"] = Token });
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = LoopbackAddress(worker) };

        using var none = await http.GetAsync(new Uri("/console/rules", UriKind.Relative));
        using var wrong = await SendAsync(http, "/console/rules", "Bearer not-the-token");
        using var bearer = await SendAsync(http, "/console/rules", "Bearer " + Token);
        using var query = await http.GetAsync(new Uri("/console/users?id=u-1&token=" + Token, UriKind.Relative));
        using var cookie = await SendAsync(http, "/console/users?id=u-1", null, $"{ConsoleAccess.CookieName}={Token}");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.DoesNotContain("<html", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, query.StatusCode);
        Assert.Equal("/console/users?id=u-1", query.Headers.Location!.OriginalString);
        Assert.Contains(query.Headers.GetValues("Set-Cookie"), c => c.StartsWith($"{ConsoleAccess.CookieName}={Token}", StringComparison.Ordinal) && c.Contains("httponly", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(HttpStatusCode.OK, cookie.StatusCode);
        using var health = await http.GetAsync(new Uri("/healthz/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode); // only the console asks for the token
    }

    [Fact]
    public async Task Console_BoundToEveryInterfaceWithoutAToken_IsOff()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0),
            new Dictionary<string, string?> { ["urls"] = "http://0.0.0.0:0" });
        using var http = new HttpClient { BaseAddress = LoopbackAddress(worker) };

        using var response = await SendAsync(http, "/console/rules", "Bearer anything");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Console_OnLoopback_IsOpenWithoutAToken()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0));
        using var http = new HttpClient { BaseAddress = LoopbackAddress(worker) };

        using var response = await http.GetAsync(new Uri("/console", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("default-src 'none';", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal); // no script runs
    }

    internal static Uri LoopbackAddress(WorkerHarness worker)
    {
        var address = new Uri(worker.Host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new UriBuilder(address) { Host = "127.0.0.1" }.Uri;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string path, string? authorization, string? cookie = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
        }
        return await http.SendAsync(request);
    }
}
