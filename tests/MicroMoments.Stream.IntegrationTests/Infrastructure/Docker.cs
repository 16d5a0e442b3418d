using System.Net.Sockets;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>Whether a Docker engine answers here, so fixtures can choose Testcontainers or local servers.</summary>
internal static class Docker
{
    private static readonly Lazy<bool> Answers = new(Probe);

    public static bool IsAvailable => Answers.Value;

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 })
        {
            return true;
        }
        const string socketPath = "/var/run/docker.sock";
        if (!File.Exists(socketPath))
        {
            return false;
        }
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
