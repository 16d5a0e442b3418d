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
    private ConcurrentBag<double> _latencies = [];
    private long _count;
    private volatile bool _assigned;

    public InterventionReader(string bootstrap, string topic)
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
                    if (_producedAt is { } map)
                    {
                        using var doc = JsonDocument.Parse(r.Message.Value);
                        var ids = doc.RootElement.GetProperty("data").GetProperty("trigger").GetProperty("eventIds");
                        var last = ids[ids.GetArrayLength() - 1].GetString()!;
                        if (map.TryGetValue(last, out var at))
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

    public long Count => Interlocked.Read(ref _count);

    /// <summary>The reader's group has given it the topic's partitions: an intervention produced now is read without a join's delay.</summary>
    public bool Assigned => _assigned;

    public void Track(ConcurrentDictionary<string, long> producedAt)
    {
        _latencies = [];
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
