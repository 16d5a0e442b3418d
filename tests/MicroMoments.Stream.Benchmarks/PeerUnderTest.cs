using System.Diagnostics;
using MicroMoments.Stream.Kafka;
using Streamiz.Kafka.Net;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// One Streamiz instance of <see cref="PeerTopology"/> on the section's topics, with its state in a temporary
/// directory removed on dispose. Its changelog topic is created first: the mock broker serves no CreateTopics.
/// </summary>
public sealed class PeerUnderTest : IDisposable
{
    private readonly KafkaStream _stream;
    private readonly string _stateDir;
    private volatile bool _running;

    private PeerUnderTest(KafkaStream stream, string stateDir, string applicationId, PeerCounters counters)
    {
        _stream = stream;
        _stateDir = stateDir;
        ApplicationId = applicationId;
        Counters = counters;
        _stream.StateChanged += (_, now) => _running = now == KafkaStream.State.RUNNING;
    }

    /// <summary>Where this process's instances keep their state, one directory each.</summary>
    public static string StateRoot { get; } = Path.Combine(Path.GetTempPath(), $"mm-peer-{Environment.ProcessId}");

    /// <summary>
    /// Removes <see cref="StateRoot"/>: a stopped instance's directory is removed on dispose, but Streamiz can write its
    /// process metadata file there once more after that.
    /// </summary>
    public static void DeleteStateRoot()
    {
        try
        {
            Directory.Delete(StateRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // no instance ran
        }
    }

    /// <summary>The consumer group of the instance (Kafka Streams' application id).</summary>
    public string ApplicationId { get; }

    public PeerCounters Counters { get; }

    /// <summary>Starts the topology on <c>{section}-clickstream</c> → <c>{section}-interventions</c> (both created by the caller).</summary>
    public static async Task<PeerUnderTest> StartAsync(EmbeddedKafkaCluster kafka, string section, int partitions)
    {
        var applicationId = $"peer-{section}";
        kafka.CreateTopic(PeerTopology.ChangelogTopic(applicationId), partitions);
        var stateDir = Path.Combine(StateRoot, $"{section}-{Guid.NewGuid():N}");
        var counters = new PeerCounters();
        var topology = PeerTopology.Build($"{section}-clickstream", $"{section}-interventions", counters);
        var peer = new PeerUnderTest(new KafkaStream(topology, PeerTopology.Config(kafka.BootstrapServers, applicationId, stateDir)), stateDir, applicationId, counters);
        await peer._stream.StartAsync();
        return peer;
    }

    /// <summary>Waits until the instance runs (its group has given it the partitions and its stores are open).</summary>
    public async Task WaitUntilRunningAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!_running)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("the peer did not reach RUNNING");
            }
            await Task.Delay(10);
        }
    }

    public async Task WaitForAsync(long processed, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Counters.Processed < processed)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the peer processed {Counters.Processed:N0} of {processed:N0}");
            }
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        try
        {
            Directory.Delete(_stateDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing was written
        }
    }
}
