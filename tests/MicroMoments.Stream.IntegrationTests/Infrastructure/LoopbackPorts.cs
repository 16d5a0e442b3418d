using System.Net;
using System.Net.Sockets;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>Free loopback ports for the servers the fixtures start.</summary>
internal static class LoopbackPorts
{
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A free port below the kernel's ephemeral range, its cluster bus port (port + 10000) too. Outside that
    /// range no outgoing connection is given the port as its source while the server is down, and a client
    /// retrying against a stopped server cannot connect to itself, so the server can start again on it.
    /// </summary>
    public static int Free()
    {
        var ephemeralStart = EphemeralRangeStart();
        lock (HandedOut)
        {
            while (true)
            {
                var port = Random.Shared.Next(10_000, ephemeralStart - 10_000);
                if (!HandedOut.Contains(port) && CanBind(port) && CanBind(port + 10_000))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }
    }

    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        var first = File.Exists(range) ? File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0] : "32768";
        return Math.Max(int.Parse(first, System.Globalization.CultureInfo.InvariantCulture), 21_000);
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
