using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// The worker executable as a child process (<c>dotnet MicroMoments.Stream.Worker.dll run</c>), configured by
/// environment variables as a pod would be: it can be SIGTERMed or SIGKILLed like one. Its console log is kept
/// for diagnostics and tells which partitions it owns.
/// </summary>
public sealed partial class WorkerProcess : IAsyncDisposable
{
    /// <summary>The worker is a project reference, so <c>dotnet build</c> of the tests puts it (with its runtimeconfig) beside them.</summary>
    private static readonly string WorkerDll = Path.Combine(AppContext.BaseDirectory, "MicroMoments.Stream.Worker.dll");

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Process _process;
    private readonly ITestOutputHelper? _output;
    private readonly List<string> _log = [];
    private readonly HashSet<int> _partitions = [];
    private readonly Stopwatch _age = Stopwatch.StartNew();
    private bool _disposed;

    private WorkerProcess(string name, Process process, Uri ready, ITestOutputHelper? output)
    {
        Name = name;
        _process = process;
        Ready = ready;
        _output = output;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    /// <summary>Its <c>/healthz/ready</c> endpoint, on a free loopback port.</summary>
    private Uri Ready { get; }

    /// <summary>How many input partitions the worker owns, from its "Partitions assigned/revoked/lost" log lines.</summary>
    public int Partitions
    {
        get
        {
            lock (_log)
            {
                return _partitions.Count;
            }
        }
    }

    /// <summary>The last lines the worker wrote to stdout and stderr.</summary>
    private string Tail(int lines = 40)
    {
        lock (_log)
        {
            return string.Join('\n', _log.Skip(Math.Max(0, _log.Count - lines)));
        }
    }

    /// <summary>How many of the worker's log lines contain the text.</summary>
    public int CountLines(string text)
    {
        lock (_log)
        {
            return _log.Count(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>Starts a worker for the test's streams; <see cref="WaitUntilReadyAsync"/> waits until it joined the group.</summary>
    public static WorkerProcess Start(string name, TestStreams streams, string redisConfiguration, string rulesPath, ITestOutputHelper? output = null,
        IDictionary<string, string?>? extra = null)
    {
        if (!File.Exists(WorkerDll))
        {
            throw new FileNotFoundException("the worker is built beside the tests (project reference)", WorkerDll);
        }
        var port = LoopbackPorts.Free();
        var start = new ProcessStartInfo("dotnet", [WorkerDll, "run"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        var configuration = streams.WorkerConfiguration(redisConfiguration);
        configuration["MicroMoments:Rules:Path"] = rulesPath;
        configuration["urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        // One line per log entry with a timestamp: readable in a failure message, and parseable.
        configuration["Logging:Console:FormatterName"] = "simple";
        configuration["Logging:Console:FormatterOptions:SingleLine"] = "true";
        configuration["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ";
        configuration["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "None"; // an error per probe before it joins
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }
        foreach (var (key, value) in configuration)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start dotnet {WorkerDll}");
        var worker = new WorkerProcess(name, process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/healthz/ready"), output);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Waits until <c>/healthz/ready</c> answers 200: the consume loop runs and the consumer joined the group.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"worker {Name} exited with {_process.ExitCode} before it was ready:\n{Tail()}");
            }
            try
            {
                using var response = await Http.GetAsync(Ready);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
            catch (TaskCanceledException)
            {
                return false; // busy starting
            }
        }, timeout ?? TimeSpan.FromSeconds(60), $"worker {Name} ready at {Ready}");
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.Add(line);
            var change = OwnershipLine().Match(line);
            if (change.Success)
            {
                var partitions = PartitionNumber().Matches(change.Groups["parts"].Value).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                foreach (var p in partitions)
                {
                    if (change.Groups["what"].Value == "assigned")
                    {
                        _partitions.Add(p);
                    }
                    else
                    {
                        _partitions.Remove(p);
                    }
                }
            }
        }
    }

    /// <summary>The status and body of <c>/healthz/ready</c> now; the body says why it is not ready.</summary>
    public async Task<(HttpStatusCode Status, string Body)> ReadinessAsync()
    {
        using var response = await Http.GetAsync(Ready);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the worker finishes its batch, commits and leaves the group.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
    }

    /// <summary>SIGKILL: no shutdown code runs; the broker keeps the member's partitions until its session times out.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Waits for the process to exit and returns its exit code; throws with its last log lines after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"worker {Name} did not exit within {timeout.TotalSeconds:F0} s:\n{Tail()}");
        }
        return _process.ExitCode;
    }

    /// <summary>Kills the process if it still runs and writes its last log lines to the test output.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _output?.WriteLine($"--- worker {Name} (pid {Pid}, exit {_process.ExitCode}, {_age.Elapsed.TotalSeconds:F1} s), last lines:\n{Tail(25)}");
        _process.Dispose();
    }

    [GeneratedRegex(@"Partitions (?<what>assigned|revoked|lost): (?<parts>.*)$")]
    private static partial Regex OwnershipLine();

    /// <summary>Confluent prints a partition as "topic [[3]]".</summary>
    [GeneratedRegex(@"\[\[?(\d+)\]")]
    private static partial Regex PartitionNumber();
}
