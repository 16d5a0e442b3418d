using System.Diagnostics;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// A paced producer of a mixed clickstream (feature use, task failures, shares) over a set of users, stamped
/// with the wall clock as a live app would. It keeps every event in the order it was produced: per partition
/// the log's order, so per user the order the worker applies them, and so the input for <c>simulate</c>.
/// </summary>
public sealed class ClickstreamLoad(TestStreams streams, IReadOnlyList<string> users, int eventsPerSecond) : IAsyncDisposable
{
    private readonly List<string> _lines = [];
    private readonly List<Task> _sends = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _random = new(20261124);
    private Task? _loop;

    public int Produced
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        var elapsed = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        long sent = 0;
        try
        {
            while (await tick.WaitForNextTickAsync(ct))
            {
                for (var due = (long)(elapsed.Elapsed.TotalSeconds * eventsPerSecond); sent < due; sent++)
                {
                    var user = users[_random.Next(users.Count)];
                    var kind = _random.Next(100);
                    Send(user, at => kind switch
                    {
                        < 70 => TestEvents.Track(user, "Feature Used", at, new { feature = $"f{kind % 3}" }),
                        < 96 => TestEvents.Track(user, "Task Failed", at, new { task = $"t{kind % 2}" }),
                        _ => TestEvents.Track(user, "Content Shared", at, new { contentId = $"c{sent}" }),
                    });
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped
        }
    }

    /// <summary>Produces one event stamped now, in order with the load: for a test's own events, such as a last view.</summary>
    public void Send(string user, Func<DateTimeOffset, string> json)
    {
        lock (_lines)
        {
            var line = json(TimeProvider.System.GetUtcNow());
            _lines.Add(line);
            _sends.Add(streams.ProduceAsync(user, line));
        }
    }

    /// <summary>Stops the load, waits until Kafka acknowledged every event, and returns them in the order produced.</summary>
    public async Task<IReadOnlyList<string>> StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        Task[] sends;
        lock (_lines)
        {
            sends = [.. _sends];
        }
        await Task.WhenAll(sends);
        lock (_lines)
        {
            return [.. _lines];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        _stop.Dispose();
    }
}
