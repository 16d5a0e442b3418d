using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>Reads the intervention topic; when tracking, records the latency from the triggering event's production.</summary>
internal sealed class InterventionReader : IDisposable
{
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private ConcurrentDictionary<string, long>? _producedAt;
    private volatile string? _rule;
    private ConcurrentBag<double> _latencies = [];
    private readonly ConcurrentQueue<PeerCommand> _commands = new();
    private long _count;
    private long _lastCommandAt;
    private volatile bool _assigned;

    /// <param name="collect">Keep every command read (<see cref="Commands"/>), as the comparison with the peer needs.</param>
    public InterventionReader(string bootstrap, string topic, bool collect = false)
    {
        var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = $"bench-reader-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, FetchWaitMaxMs = 5,
        }).SetPartitionsAssignedHandler((_, _) => _assigned = true).Build();
        consumer.Subscribe(topic);
        _thread = new Thread(() =>
        {
            using (consumer)
            {
                while (!_stop.IsCancellationRequested)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is not { } r)
                    {
                        continue;
                    }
                    var arrived = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref _count);
                    if ((collect || _producedAt is not null) && Read(r.Message.Value) is { } command)
                    {
                        Interlocked.Exchange(ref _lastCommandAt, arrived);
                        if (collect)
                        {
                            _commands.Enqueue(command);
                        }
                        if (_producedAt is { } map && (_rule is null || _rule == command.RuleId) && map.TryGetValue(command.TriggerEventId, out var at))
                        {
                            _latencies.Add((arrived - at) * 1000.0 / Stopwatch.Frequency);
                        }
                    }
                }
                consumer.Close();
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    /// <summary>
    /// A command in either form: the worker's CloudEvent (its trigger named by the last of <c>trigger.eventIds</c>: a
    /// count's latest hit, a timer's arming event) or the peer's JSON (<see cref="PeerCommand"/>); null for anything else
    /// (a cancellation).
    /// </summary>
    internal static PeerCommand? Read(byte[] value)
    {
        using var doc = JsonDocument.Parse(value);
        var root = doc.RootElement;
        if (root.TryGetProperty("data", out var data))
        {
            if (root.GetProperty("type").GetString() != "io.micromoments.intervention.v1")
            {
                return null;
            }
            var trigger = data.GetProperty("trigger");
            var ids = trigger.GetProperty("eventIds");
            return new PeerCommand(data.GetProperty("userId").GetString()!, data.GetProperty("ruleId").GetString()!,
                ids[ids.GetArrayLength() - 1].GetString()!, root.GetProperty("time").GetDateTimeOffset());
        }
        return root.TryGetProperty("triggerEventId", out var id)
            ? new PeerCommand(root.GetProperty("userId").GetString()!, root.GetProperty("ruleId").GetString()!, id.GetString()!, root.GetProperty("triggerAt").GetDateTimeOffset())
            : null;
    }

    /// <summary>The commands read so far (with <c>collect</c>).</summary>
    public IReadOnlyCollection<PeerCommand> Commands => _commands;

    /// <summary>When the last command arrived (a <see cref="Stopwatch"/> timestamp; 0 before the first).</summary>
    public long LastCommandAt => Interlocked.Read(ref _lastCommandAt);

    /// <summary>Waits until no command has arrived for <paramref name="quiet"/>, or <paramref name="timeout"/> passes.</summary>
    public async Task WaitQuietAsync(TimeSpan quiet, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var seen = Count;
        var since = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
            if (Count != seen)
            {
                seen = Count;
                since = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(since) >= quiet)
            {
                return;
            }
        }
    }

    public long Count => Interlocked.Read(ref _count);

    /// <summary>The reader's group has given it the topic's partitions: an intervention produced now is read without a join's delay.</summary>
    public bool Assigned => _assigned;

    /// <summary>From now on, times each command (of <paramref name="rule"/> only, when given) from its triggering event's production.</summary>
    public void Track(ConcurrentDictionary<string, long> producedAt, string? rule = null)
    {
        _latencies = [];
        _rule = rule;
        _producedAt = producedAt;
    }

    /// <summary>How many latencies are held since the last <see cref="TakeLatencies"/>.</summary>
    public int Tracked => _latencies.Count;

    public ConcurrentBag<double> TakeLatencies() => Interlocked.Exchange(ref _latencies, []);

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
    }
}
