using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// An in-process, Redis-compatible (RESP) server backed by Microsoft Garnet, listening on a free loopback port.
/// It lets the demo run the very same StackExchange.Redis code path as production without an external Redis.
/// Data lives in memory only: nothing is persisted, and everything is lost on <see cref="Dispose"/>.
/// </summary>
public sealed partial class EmbeddedRedisServer : IDisposable
{
    // A free port is found by binding port 0 and releasing it, so another process can grab it before Garnet
    // binds it; retrying with a fresh port covers that race.
    private const int MaxStartAttempts = 5;

    private readonly GarnetServer server;
    private readonly ILogger logger;
    private int disposed;

    private EmbeddedRedisServer(GarnetServer server, int port, ILogger logger)
    {
        this.server = server;
        this.logger = logger;
        Port = port;
        // abortConnect=false: a client created before the listener is up keeps retrying instead of throwing.
        Configuration = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port},abortConnect=false");
    }

    /// <summary>A StackExchange.Redis configuration string that reaches this server.</summary>
    public string Configuration { get; }

    /// <summary>The loopback TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>
    /// Starts Garnet on 127.0.0.1 at a free port, with Lua scripting enabled. Garnet logs through
    /// <paramref name="loggerFactory"/>; without one it logs nothing, and it never writes to stdout.
    /// </summary>
    public static EmbeddedRedisServer Start(ILoggerFactory? loggerFactory = null)
    {
        // Garnet builds its own console logger when given no factory, so always hand it one:
        // the null factory keeps stdout, which is reserved for demo output, clean.
        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger<EmbeddedRedisServer>();

        for (var attempt = 1; ; attempt++)
        {
            var port = FindFreeLoopbackPort();
            var stopwatch = Stopwatch.StartNew();
            GarnetServer? server = null;
            try
            {
                server = CreateGarnet(port, loggerFactory);
                server.Start();
            }
            catch (Exception ex) when (IsAddressInUse(ex) && attempt < MaxStartAttempts)
            {
                // Another process took the port between probing and binding: try another one.
                server?.Dispose();
                LogPortTaken(logger, port, attempt, ex);
                continue;
            }
            catch
            {
                server?.Dispose();
                throw;
            }

            LogStarted(logger, port, stopwatch.ElapsedMilliseconds);
            return new EmbeddedRedisServer(server, port, logger);
        }
    }

    /// <summary>Stops the listener and frees Garnet's memory; all data is discarded.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        // Closing the listener first frees the port; dropping the stores can then take a moment.
        server.Dispose();
        LogStopped(logger, Port);
    }

    private static GarnetServer CreateGarnet(int port, ILoggerFactory loggerFactory)
    {
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture),
            // Loopback only: the store has no authentication and must not be reachable from the network.
            "--bind", "127.0.0.1",
            // Lua is off by default in Garnet; the worker uses EVAL.
            "--lua", "true",
            // Quiet mode drops the ASCII-art banner and "Ready to accept connections" that Garnet
            // writes with Console.WriteLine, bypassing the logger factory.
            "-q", "true",
            // The default 128 MB hash index is sized for servers; 16 MB keeps the demo's footprint small.
            "--index", "16m",
        ];

        // Garnet's constructor adds a ConsoleTraceListener to the process-wide Trace.Listeners, which would send
        // any Trace output of the whole process to stdout; remove whatever listeners it added.
        var before = Trace.Listeners.Cast<TraceListener>().ToArray();
        var server = new GarnetServer(args, loggerFactory);
        foreach (var added in Trace.Listeners.Cast<TraceListener>().Except(before).ToArray())
        {
            Trace.Listeners.Remove(added);
            added.Dispose();
        }

        return server;
    }

    // Garnet reports a failed bind as a GarnetException wrapping the SocketException.
    private static bool IsAddressInUse(Exception ex) =>
        (ex as SocketException ?? ex.InnerException as SocketException)?.SocketErrorCode == SocketError.AddressAlreadyInUse;

    private static int FindFreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Embedded Redis (Garnet) listening on 127.0.0.1:{Port}, started in {ElapsedMs} ms; in-memory only, not durable: all data is lost when the process stops")]
    private static partial void LogStarted(ILogger logger, int port, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Port {Port} was taken before Garnet could bind it (attempt {Attempt}); retrying on another port")]
    private static partial void LogPortTaken(ILogger logger, int port, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded Redis (Garnet) on port {Port} stopped")]
    private static partial void LogStopped(ILogger logger, int port);
}
