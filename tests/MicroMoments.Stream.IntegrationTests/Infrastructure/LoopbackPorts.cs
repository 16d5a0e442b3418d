using System.Net;
using System.Net.Sockets;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>Free loopback ports for the servers the fixtures start.</summary>
internal static class LoopbackPorts
{
    /// <param name="below">Only ports below this (Redis Cluster nodes also listen on port + 10000).</param>
    public static int Free(int below = 65536)
    {
        while (true)
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            if (port < below)
            {
                return port;
            }
        }
    }
}
