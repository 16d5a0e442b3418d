using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Confluent.Kafka;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// An in-process Kafka cluster: librdkafka's mock cluster, started through its C API.
/// The brokers speak the real Kafka wire protocol on loopback ports, so any client
/// (Confluent.Kafka producers, consumers, admin clients, kcat) can share it through
/// <see cref="BootstrapServers"/>. Broker ids run from 1 to the broker count.
/// </summary>
/// <remarks>
/// <para>
/// Dispose the clients before the cluster: the other order does not crash or hang, but the
/// clients then log connection failures until they are disposed.
/// </para>
/// <para>
/// Differences from a real broker: the Admin API's CreateTopics never completes (it times out
/// waiting for a controller), so use <see cref="CreateTopic"/> or auto-creation with the default
/// partition count; transactional producers are not fenced and read_committed is not implemented
/// (inject errors with <see cref="PushRequestErrors"/> instead). When the last member leaves a
/// group, the next member to join waits up to the old member's session.timeout.ms minus 1 s for
/// its assignment, so tests that restart consumers in a group should use a short SessionTimeoutMs
/// or a new group id.
/// </para>
/// <para>
/// The control methods (<see cref="CreateTopic"/>, <see cref="SetBrokerDown"/>, ...) run on the
/// mock's own thread and now and then take about 1 s (the mock thread misses a wake-up and waits
/// for its 1 s poll); produce and fetch traffic is not affected.
/// </para>
/// <para>
/// This relies on librdkafka's experimental mock API, which has no ABI stability guarantee;
/// the signatures here match librdkafka 2.16.0 (Confluent.Kafka 2.16.0).
/// </para>
/// </remarks>
public sealed class EmbeddedKafkaCluster : IDisposable
{
    // Guards the native pointers so Dispose cannot free them while another thread is using them.
    private readonly object _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    private EmbeddedKafkaCluster(IntPtr handle, IntPtr cluster, string bootstrapServers)
    {
        _handle = handle;
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>Comma-separated <c>host:port</c> list of the mock brokers, e.g. <c>127.0.0.1:40123</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers (ids 1..brokers).</summary>
    /// <exception cref="InvalidOperationException">The native library or the mock cluster could not be started.</exception>
    public static EmbeddedKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);

        try
        {
            NativeMethods.EnsureLoaded();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                "Could not load the librdkafka native library used by Confluent.Kafka, so the embedded Kafka mock cluster cannot start: " + ex.Message,
                ex);
        }

        // The mock cluster needs an rd_kafka_t for its bookkeeping only; a producer handle
        // is the cheapest kind (no consumer group machinery) and never sends anything.
        var conf = NativeMethods.rd_kafka_conf_new();
        var errstr = new byte[512];
        SetConf(conf, "client.id", "embedded-kafka-cluster", errstr);
        // Without this the idle handle logs "No bootstrap.servers configured" to stderr.
        SetConf(conf, "log_level", "3", errstr);

        var handle = NativeMethods.rd_kafka_new(NativeMethods.RdKafkaProducer, conf, errstr, (nuint)errstr.Length);
        if (handle == IntPtr.Zero)
        {
            // rd_kafka_new only takes ownership of conf when it succeeds.
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException("rd_kafka_new failed for the embedded Kafka cluster: " + ReadErrstr(errstr));
        }

        var cluster = NativeMethods.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_destroy(handle);
            throw new InvalidOperationException(
                $"rd_kafka_mock_cluster_new failed to start {brokers} mock broker(s); see librdkafka's log on stderr (for example no free loopback port).");
        }

        var bootstrap = Marshal.PtrToStringUTF8(NativeMethods.rd_kafka_mock_cluster_bootstraps(cluster));
        if (string.IsNullOrEmpty(bootstrap))
        {
            NativeMethods.rd_kafka_mock_cluster_destroy(cluster);
            NativeMethods.rd_kafka_destroy(handle);
            throw new InvalidOperationException("The embedded Kafka mock cluster reported no bootstrap servers.");
        }

        // The mock, like Kafka, delays the first rebalance of a group by 3 s by default;
        // tests would spend most of their time waiting for it.
        NativeMethods.rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0);

        return new EmbeddedKafkaCluster(handle, cluster, bootstrap);
    }

    /// <summary>Creates a topic on the mock cluster, in place of the Admin API's CreateTopics, which the mock does not serve.</summary>
    /// <exception cref="KafkaException">The mock returned an error, e.g. the topic already exists.</exception>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);

        lock (_gate)
        {
            var err = NativeMethods.rd_kafka_mock_topic_create(Cluster(), Utf8z(topic), partitions, replicationFactor);
            ThrowOnError(err, $"create topic '{topic}' with {partitions} partition(s) and replication factor {replicationFactor}");
        }
    }

    /// <summary>
    /// Disconnects broker <paramref name="brokerId"/> (1-based; -1 for all brokers) and refuses new
    /// connections to it. Partition leadership does not move.
    /// </summary>
    public void SetBrokerDown(int brokerId)
    {
        lock (_gate)
        {
            ThrowOnError(NativeMethods.rd_kafka_mock_broker_set_down(Cluster(), brokerId), $"set broker {brokerId} down");
        }
    }

    /// <summary>Lets broker <paramref name="brokerId"/> (1-based; -1 for all brokers) accept connections again.</summary>
    public void SetBrokerUp(int brokerId)
    {
        lock (_gate)
        {
            ThrowOnError(NativeMethods.rd_kafka_mock_broker_set_up(Cluster(), brokerId), $"set broker {brokerId} up");
        }
    }

    /// <summary>
    /// Makes the next requests with <paramref name="apiKey"/> (e.g. 0 Produce, 1 Fetch, 8 OffsetCommit),
    /// to any broker, fail with <paramref name="errors"/>, one error per request, in order.
    /// </summary>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Length == 0)
        {
            return;
        }

        // rd_kafka_resp_err_t is a C enum, i.e. an int; the array variant avoids the
        // variadic rd_kafka_mock_push_request_errors, which P/Invoke cannot call portably.
        var codes = new int[errors.Length];
        for (var i = 0; i < errors.Length; i++)
        {
            codes[i] = (int)errors[i];
        }

        lock (_gate)
        {
            NativeMethods.rd_kafka_mock_push_request_errors_array(Cluster(), apiKey, (nuint)codes.Length, codes);
        }
    }

    /// <summary>Stops the brokers and frees the native handle. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            // The cluster is bound to the handle passed to rd_kafka_mock_cluster_new,
            // so it must go first.
            if (_cluster != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_mock_cluster_destroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                NativeMethods.rd_kafka_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private IntPtr Cluster()
    {
        ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
        return _cluster;
    }

    private static void SetConf(IntPtr conf, string name, string value, byte[] errstr)
    {
        if (NativeMethods.rd_kafka_conf_set(conf, Utf8z(name), Utf8z(value), errstr, (nuint)errstr.Length) != 0)
        {
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set({name}={value}) failed: {ReadErrstr(errstr)}");
        }
    }

    // Strings are passed as NUL-terminated UTF-8 bytes rather than through the marshaller,
    // which keeps the P/Invoke signatures blittable and clear of the CA2101 marshalling analyzer.
    private static byte[] Utf8z(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
        return bytes;
    }

    private static string ReadErrstr(byte[] errstr)
    {
        var length = Array.IndexOf(errstr, (byte)0);
        return Encoding.UTF8.GetString(errstr, 0, length < 0 ? errstr.Length : length);
    }

    private static void ThrowOnError(int err, string action)
    {
        if (err != 0)
        {
            var code = (ErrorCode)err;
            throw new KafkaException(new Error(code, $"Embedded Kafka mock cluster could not {action}: {code} ({code.GetReason()})"));
        }
    }

    private static class NativeMethods
    {
        private const string LibraryName = "librdkafka";

        internal const int RdKafkaProducer = 0;

        // Loading and the resolver registration happen once per process: the resolver can be
        // set only once per assembly, and the Lazy also makes concurrent Start calls safe.
        private static readonly Lazy<IntPtr> LoadedLibrary = new(LoadAndRegister, LazyThreadSafetyMode.ExecutionAndPublication);

        internal static void EnsureLoaded() => _ = LoadedLibrary.Value;

        private static IntPtr LoadAndRegister()
        {
            var handle = LoadConfluentsLibrdkafka();
            NativeLibrary.SetDllImportResolver(
                typeof(NativeMethods).Assembly,
                (name, _, _) => name == LibraryName ? handle : IntPtr.Zero);
            return handle;
        }

        // The mock cluster and the clients must live in one copy of librdkafka: a second copy
        // would work on its own, but handles are not interchangeable between copies and the
        // bundled files differ per platform (on Debian without libsasl2 the default
        // librdkafka.so fails to load and Confluent.Kafka silently uses centos8-librdkafka.so).
        // So let Confluent.Kafka pick its file first, then open that very file again, which
        // only takes another reference to the already-loaded library.
        private static IntPtr LoadConfluentsLibrdkafka()
        {
            _ = Confluent.Kafka.Library.Version;

            var tried = new List<string>();
            foreach (var path in Candidates())
            {
                tried.Add(path);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
                {
                    return handle;
                }
            }

            throw new DllNotFoundException("librdkafka was not found at: " + string.Join(", ", tried));
        }

        private static IEnumerable<string> Candidates()
        {
            // On Linux the file Confluent.Kafka actually opened is visible in the process's mappings,
            // which also covers a custom Library.Load(path) and system-wide installs.
            var mapped = MappedLibrdkafka();
            if (mapped is not null)
            {
                yield return mapped;
            }

            // Elsewhere, mirror Confluent.Kafka's own order: the default build, then the glibc fallback.
            string[] names;
            string os;
            if (OperatingSystem.IsWindows())
            {
                (os, names) = ("win", ["librdkafka.dll"]);
            }
            else if (OperatingSystem.IsMacOS())
            {
                (os, names) = ("osx", ["librdkafka.dylib"]);
            }
            else
            {
                (os, names) = ("linux", ["librdkafka.so", "centos8-librdkafka.so"]);
            }

            var rid = os + "-" + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            string[] folders = [Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"), AppContext.BaseDirectory];
            foreach (var folder in folders)
            {
                foreach (var name in names)
                {
                    yield return Path.Combine(folder, name);
                }
            }
        }

        private static string? MappedLibrdkafka()
        {
            const string maps = "/proc/self/maps";
            if (!OperatingSystem.IsLinux() || !File.Exists(maps))
            {
                return null;
            }

            foreach (var line in File.ReadLines(maps))
            {
                var slash = line.IndexOf('/');
                if (slash < 0)
                {
                    continue;
                }

                var path = line[slash..];
                var file = Path.GetFileName(path);
                if (file.Contains("librdkafka", StringComparison.Ordinal) && file.Contains(".so", StringComparison.Ordinal)
                    && !file.Contains("++", StringComparison.Ordinal))
                {
                    return path;
                }
            }

            return null;
        }

        [DllImport(LibraryName)]
        internal static extern IntPtr rd_kafka_conf_new();

        [DllImport(LibraryName)]
        internal static extern void rd_kafka_conf_destroy(IntPtr conf);

        [DllImport(LibraryName)]
        internal static extern int rd_kafka_conf_set(IntPtr conf, byte[] name, byte[] value, byte[] errstr, nuint errstrSize);

        [DllImport(LibraryName)]
        internal static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, nuint errstrSize);

        [DllImport(LibraryName)]
        internal static extern void rd_kafka_destroy(IntPtr rk);

        [DllImport(LibraryName)]
        internal static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

        [DllImport(LibraryName)]
        internal static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

        [DllImport(LibraryName)]
        internal static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

        [DllImport(LibraryName)]
        internal static extern int rd_kafka_mock_topic_create(IntPtr mcluster, byte[] topic, int partitionCount, int replicationFactor);

        [DllImport(LibraryName)]
        internal static extern int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

        [DllImport(LibraryName)]
        internal static extern int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

        [DllImport(LibraryName)]
        internal static extern void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, nuint count, int[] errors);

        [DllImport(LibraryName)]
        internal static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);
    }
}
