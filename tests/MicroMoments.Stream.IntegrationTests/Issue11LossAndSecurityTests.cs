using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Demo;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Issue 11 items 3 (silent loss), 9 (security settings) and 10 (<c>explain</c> crashes).</summary>
[Collection(InfraCollection.Name)]
public sealed class Issue11LossAndSecurityTests(KafkaFixture kafka, RedisFixture redis, ITestOutputHelper log) : IDisposable
{
    private const string KafkaSecret = "kafka-SASL-secret-7f3a9c";
    private const string RedisSecret = "redis-ACL-secret-42b1e8";

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-issue11-").FullName;

    private static readonly TopicPartition P = new("t", 0);

    [Fact]
    public void Item3_OffsetGapDetector_CountsOnlyOffsetsBelowTheLogStart()
    {
        var gaps = new OffsetGapDetector();
        gaps.Start(P, 100);

        Assert.Null(gaps.Observe(P, 100, () => throw new InvalidOperationException("no jump, no question")));
        Assert.Null(gaps.Observe(P, 101, () => throw new InvalidOperationException("no jump, no question")));
        // Retention moved the log start to 500 and the consumer reset there: 102..499 are gone.
        Assert.Equal(new OffsetGap(P, 102, 499), gaps.Observe(P, 500, () => 500));
        Assert.Equal(398, new OffsetGap(P, 102, 499).Count);
        // A compacted hole or a transaction marker: the skipped offsets are above the log start, nothing lost.
        Assert.Null(gaps.Observe(P, 510, () => 500));
        // A seek back (redelivery) is not a loss, and the expectation follows it.
        Assert.Null(gaps.Observe(P, 505, () => 500));
        Assert.Equal(506, gaps.Expected(P));
        // Part of a jump below the log start, part above (compaction after a deletion).
        Assert.Equal(new OffsetGap(P, 506, 599), gaps.Observe(P, 700, () => 600));
        gaps.Forget(P);
        Assert.Null(gaps.Observe(P, 5000, () => 5000)); // no expectation after a revoke until assigned again
    }

    [Fact]
    public async Task Item3_RetentionDeletesUnreadRecords_GapCountedLoggedAndNotReady()
    {
        // The mock broker's retention is what deletes here, so this always runs on a private mock cluster.
        var mock = KafkaFixture.StartMock();
        await using var mockLifetime = mock.AsAsyncDisposable();
        using var streams = await TestStreams.CreateAsync(mock, inputPartitions: 1);
        var tp = new TopicPartition(streams.Input, 0);
        // The group has read nothing: it resumes at offset 0.
        using (var committer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = streams.BootstrapServers, GroupId = streams.GroupId }).Build())
        {
            await streams.ProduceAsync("u-0", Track("u-0", "Feature Used", T0, new { feature = "x" }));
            committer.Commit([new TopicPartitionOffset(tp, 0)]);
        }
        // About 8 MiB into one partition while nobody reads it: the broker keeps only the newest ~5 MiB.
        var padding = new string('p', 1000);
        using (var burst = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = streams.BootstrapServers, Partitioner = KafkaClientConfigs.KeyPartitioner, LingerMs = 20, BatchSize = 256 * 1024 }).Build())
        {
            for (var i = 0; i < 8000; i++)
            {
                burst.Produce(streams.Input, new Message<string, string> { Key = $"u-{i}", Value = Track($"u-{i}", "Feature Used", T0, new { feature = "x", padding }) });
            }
            Assert.Equal(0, burst.Flush(TimeSpan.FromSeconds(60)));
        }
        long logStart;
        using (var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = streams.BootstrapServers, GroupId = "probe" }).Build())
        {
            logStart = probe.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).Low.Value;
        }
        Assert.True(logStart > 0, "the burst made the broker delete the oldest records");

        long lost = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "micromoments.stream.records.lost")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref lost, value));
        listener.Start();
        var logs = new ListLoggerProvider();
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, configure: b => b.Logging.AddProvider(logs));

        await Eventually.TrueAsync(() => Interlocked.Read(ref lost) > 0, TimeSpan.FromSeconds(60), "the skipped records are counted");
        Assert.Equal(logStart, Interlocked.Read(ref lost));
        var error = Assert.Single(logs.Lines, l => l.Contains("Records lost on", StringComparison.Ordinal));
        Assert.StartsWith("Error", error, StringComparison.Ordinal);
        Assert.Contains($"{streams.Input}/0: offsets 0..{logStart - 1} ({logStart} records)", error, StringComparison.Ordinal);
        var health = await worker.Health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Contains("records lost", health.Description, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await worker.GetStatusAsync("/healthz/ready"));
        // What the broker still had is processed as usual.
        using var offsets = new GroupOffsets(streams);
        await Eventually.TrueAsync(() => offsets.CaughtUp(1), TimeSpan.FromSeconds(60), "the rest of the partition is committed");
    }

    [Fact]
    public async Task Item3_OversizedRecord_RefusedByTheProjectsProducersAndNothingDeleted()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        var options = new KafkaOptions { BootstrapServers = streams.BootstrapServers };
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.RecordProducer(options, "test-record-producer")).Build();
        for (var i = 0; i < 5; i++)
        {
            await producer.ProduceAsync(streams.Input, new Message<string, string> { Key = "u-1", Value = Track("u-1", "Feature Used", T0, new { feature = "x" }) });
        }

        var refused = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync(streams.Input, new Message<string, string> { Key = "u-big", Value = new string('x', 1024 * 1024 + 1) }));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, refused.Error.Code);
        using var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = streams.BootstrapServers, GroupId = "probe" }).Build();
        var marks = probe.QueryWatermarkOffsets(new TopicPartition(streams.Input, 0), TimeSpan.FromSeconds(10));
        Assert.Equal((0, 5), (marks.Low.Value, marks.High.Value));
    }

    [Fact]
    public async Task Item3_TenMegabyteRecord_DeadLetteredCutToTheLimitAndTheStreamGoesOn()
    {
        // A real broker refuses a 10 MB record (message.max.bytes); the mock broker takes it.
        var mock = KafkaFixture.StartMock();
        await using var mockLifetime = mock.AsAsyncDisposable();
        using var streams = await TestStreams.CreateAsync(mock, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        var logs = new ListLoggerProvider();
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, configure: b => b.Logging.AddProvider(logs));
        var huge = new byte[10 * 1024 * 1024];
        Array.Fill(huge, (byte)'x');
        // A careless upstream with no limit of its own, on a broker with none either.
        using (var careless = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = streams.BootstrapServers, Partitioner = KafkaClientConfigs.KeyPartitioner, MessageMaxBytes = 16 * 1024 * 1024, EnableIdempotence = true }).Build())
        {
            await careless.ProduceAsync(streams.Input, new Message<string, byte[]> { Key = "u-huge", Value = huge });
        }

        // Its dead letter is in the topic (cut to fit 1 MiB: the mock broker's own retention may then drop it).
        await Eventually.TrueAsync(() => streams.Count(streams.DeadLetters) >= 1, TimeSpan.FromSeconds(60), "the oversized record is dead-lettered");
        Assert.Contains(logs.Lines, l => l.Contains("oversized: record is 10485760 bytes", StringComparison.Ordinal));
        var copy = DeadLetters.Create(new ConsumeResult<byte[]?, byte[]?>
        {
            Topic = streams.Input, Partition = 0, Offset = 0,
            Message = new Message<byte[]?, byte[]?> { Key = "u-huge"u8.ToArray(), Value = huge, Timestamp = new Timestamp(T0) },
        }, "oversized", "record is 10485760 bytes");
        Assert.Equal(huge.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), DeadLetters.Header(copy.Headers, DeadLetters.TruncatedHeader));
        Assert.InRange(copy.Key!.Length + copy.Value!.Length + copy.Headers.Sum(h => h.Key.Length + h.GetValueBytes().Length), 900_000, DeadLetters.MaxBytes);

        // The mock broker, making room for what follows a record above its 5 MiB, also drops the very next
        // record (its log start jumps past it): the worker reports that loss instead of skipping it silently.
        for (var i = 0; i < 4; i++)
        {
            await streams.ProduceAsync("u-good", Track("u-good", "Task Failed", T0.AddSeconds(i), new { task = "a" }));
        }
        Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)));
        Assert.Contains(logs.Lines, l => l.Contains($"Records lost on {streams.Input}/0: offsets 1..1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Item3_LeadLimiter_MeasuresHowFarAProducerIsAheadOfTheWorkerGroup()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 2);
        var options = new KafkaOptions { BootstrapServers = streams.BootstrapServers, GroupId = streams.GroupId };
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.RecordProducer(options, "test-lead")).Build();
        for (var i = 0; i < 30; i++)
        {
            producer.Produce(new TopicPartition(streams.Input, i % 3 == 0 ? 1 : 0), new Message<string, string> { Key = "k", Value = "v" });
        }
        producer.Flush(TimeSpan.FromSeconds(10));
        using var limiter = new LeadLimiter(options, streams.Input, maxLead: 15, TimeProvider.System);

        Assert.Equal(20, limiter.Lead(producer)); // nothing committed: partition 0 holds 20
        using (var committer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = streams.BootstrapServers, GroupId = streams.GroupId }).Build())
        {
            committer.Commit([new TopicPartitionOffset(streams.Input, 0, 12)]);
        }
        Assert.Equal(10, limiter.Lead(producer)); // partition 1: 10 unread; partition 0: 8
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await limiter.WaitAsync(producer, cts.Token); // within the bound: returns at once
    }

    [Fact]
    public void Item9_KafkaSecuritySettings_ReachEveryClient()
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Kafka:BootstrapServers"] = "broker:9093",
            ["MicroMoments:Kafka:SecurityProtocol"] = "SaslSsl",
            ["MicroMoments:Kafka:SaslMechanism"] = "ScramSha512",
            ["MicroMoments:Kafka:SaslUsername"] = "mm",
            ["MicroMoments:Kafka:SaslPassword"] = KafkaSecret,
            ["MicroMoments:Kafka:SslCaLocation"] = "/etc/ssl/kafka-ca.pem",
            ["MicroMoments:Kafka:Client:ssl.endpoint.identification.algorithm"] = "none",
            ["MicroMoments:Kafka:Client:socket.keepalive.enable"] = "true",
        }).Build().GetSection(KafkaOptions.SectionName).Get<KafkaOptions>()!;

        ClientConfig[] clients =
        [
            KafkaClientConfigs.Consumer(options), KafkaClientConfigs.Producer(options),
            KafkaClientConfigs.RecordProducer(options, "loadgen"), KafkaClientConfigs.Admin(options),
        ];

        Assert.All(clients, c =>
        {
            var d = c.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal("sasl_ssl", d["security.protocol"], ignoreCase: true);
            Assert.Equal("scram-sha-512", d["sasl.mechanism"], ignoreCase: true);
            Assert.Equal("mm", d["sasl.username"]);
            Assert.Equal(KafkaSecret, d["sasl.password"]);
            Assert.Equal("/etc/ssl/kafka-ca.pem", d["ssl.ca.location"]);
            Assert.Equal("none", d["ssl.endpoint.identification.algorithm"]);
            Assert.Equal("true", d["socket.keepalive.enable"]);
        });
    }

    [Fact]
    public async Task Item9_PlantedPasswords_NeverReachTheWorkersDebugLogs()
    {
        await using var acl = await AclRedisAsync();
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        var worker = WorkerProcess.Start("secrets", streams, $"{acl.Configuration},user=mm-worker,password={RedisSecret}", Rules(), log, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Debug",
            // The mock broker speaks no SASL; the settings are still given to every client, password included.
            ["MicroMoments:Kafka:SaslMechanism"] = "Plain",
            ["MicroMoments:Kafka:SaslUsername"] = "mm-worker",
            ["MicroMoments:Kafka:SaslPassword"] = KafkaSecret,
            ["MicroMoments:Kafka:Client:debug"] = "conf,security",
        });
        await using (worker)
        {
            await worker.WaitUntilReadyAsync();
            await streams.ProduceAsync("u-s", Track("u-s", "Feature Used", DateTimeOffset.UtcNow, new { feature = "x" }));
            using var offsets = new GroupOffsets(streams);
            await Eventually.TrueAsync(() => offsets.CaughtUp(1), TimeSpan.FromSeconds(60), "the record's state is in Redis (ACL user) and its offset committed");
            Assert.True(worker.CountLines("dbug:") > 0, "the worker logged at Debug");
            Assert.True(worker.CountLines("sasl.username") > 0, "librdkafka dumped its configuration");

            Assert.Equal(0, worker.CountLines(KafkaSecret));
            Assert.Equal(0, worker.CountLines(RedisSecret));
        }
    }

    [Fact]
    public async Task Item9_RedisWrongPassword_LoggedAsAuthenticationFailureAndReadinessSaysWhy()
    {
        await using var acl = await AclRedisAsync();
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        await using var worker = WorkerProcess.Start("wrong-password", streams, $"{acl.Configuration},user=mm-worker,password=not-the-{RedisSecret}", Rules(), log);

        await Eventually.TrueAsync(async () =>
        {
            try
            {
                var (status, body) = await worker.ReadinessAsync();
                return status == HttpStatusCode.ServiceUnavailable && body.Contains("Redis authentication failed", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "/healthz/ready answers 503 saying Redis authentication failed");
        // The console logger writes on its own thread: the line can reach the pipe just after readiness changed.
        await Eventually.TrueAsync(() => worker.CountLines("authentication failed") > 0, TimeSpan.FromSeconds(10), "the failure logged");
        Assert.Equal(0, worker.CountLines("Redis is unavailable"));
        Assert.Equal(0, worker.CountLines(RedisSecret));
    }

    [Fact]
    public async Task Item10_Explain_UnreachableRedis_OneLineErrorAndExit2()
    {
        var (exit, stdout, stderr) = await ExplainAsync($"127.0.0.1:{LoopbackPorts.Free()},connectTimeout=1000");

        Assert.Equal(ExplainCommand.RedisFailedExitCode, exit);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("explain: cannot reach Redis", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item10_Explain_WrongPassword_OneLineErrorAndExit2()
    {
        await using var acl = await AclRedisAsync();

        var (exit, _, stderr) = await ExplainAsync($"{acl.Configuration},user=mm-worker,password=not-the-{RedisSecret}");

        Assert.Equal(ExplainCommand.RedisFailedExitCode, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("explain: Redis refused the credentials (authentication failed)", line, StringComparison.Ordinal);
        Assert.DoesNotContain(RedisSecret, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item5_Explain_BrokenRulesFile_OneLineErrorAndExit2()
    {
        await using var server = await LocalRedisServer.StartAsync();
        // A stored state (the JSON form is read too), so explain goes on to load the rules.
        await server.CliAsync("SADD", "mm:shards", "clickstream:0");
        await server.CliAsync("SET", "mm:{clickstream:0}:u:u-1", """{"u":"u-1"}""");
        var rules = Path.Combine(_dir, "broken-rules.yaml");
        File.WriteAllText(rules, "version: [unclosed\n");

        var (exit, _, stderr) = await ExplainAsync(server.Configuration, rules);

        Assert.Equal(ExplainCommand.RedisFailedExitCode, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("explain: cannot load the rules from", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item5_Explain_RedisCommandError_OneLineErrorAndExit2()
    {
        await using var server = await LocalRedisServer.StartAsync();
        // SMEMBERS on a string: WRONGTYPE. (A user-index entry of another type is read as no entry: UnreadableStatePipelineTests.)
        await server.CliAsync("SET", "mm:shards", "not-a-set");

        var (exit, _, stderr) = await ExplainAsync(server.Configuration);

        Assert.Equal(ExplainCommand.RedisFailedExitCode, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("explain: Redis refused a command (WRONGTYPE", line, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Out, string Err)> ExplainAsync(string redisConfiguration, string? rulesPath = null)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redisConfiguration,
            ["MicroMoments:Rules:Path"] = rulesPath,
        }).Build();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ExplainCommand.RunAsync(["--user", "u-1"], config, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A private redis-server whose ACL user <c>mm-worker</c> has the planted password.</summary>
    private static async Task<LocalRedisServer> AclRedisAsync()
    {
        var server = await LocalRedisServer.StartAsync();
        var reply = await server.CliAsync("ACL", "SETUSER", "mm-worker", "on", ">" + RedisSecret, "~*", "&*", "+@all");
        Assert.Contains("OK", reply, StringComparison.Ordinal);
        // Without this, a client whose AUTH fails goes on as the password-less default user.
        Assert.Contains("OK", await server.CliAsync("ACL", "SETUSER", "default", "off"), StringComparison.Ordinal);
        return server;
    }

    private string Rules()
    {
        var path = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(path, """
            version: "issue11"
            rules:
              - id: content-shared
                trigger: { kind: event, event: Content Shared }
                action: { moment: reward, channel: toast, message: { body: "Thanks for sharing" } }
            """);
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
