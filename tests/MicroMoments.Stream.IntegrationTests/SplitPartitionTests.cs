using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Polly;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Producers that partition differently (librdkafka's default next to Java's murmur2) put one user on two partitions,
/// so two states: the worker says so once, <c>explain</c> shows both, and the project's own producers partition as Java does.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class SplitPartitionTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    [Fact]
    public async Task SplitUser_SameUserOnTwoPartitions_CountedAndLoggedOnceAndExplainShowsBothStates()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 3);
        long splits = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "micromoments.stream.users.split_partitions")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref splits, value));
        listener.Start();
        var logs = new ListLoggerProvider();
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, configure: b => b.Logging.AddProvider(logs));
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.Producer(new KafkaOptions { BootstrapServers = streams.BootstrapServers })).Build();
        Task Produce(int partition, string user, int minute) => producer.ProduceAsync(new TopicPartition(streams.Input, partition),
            new Message<string, string> { Key = user, Value = Track(user, "Feature Used", T0.AddMinutes(minute - 60), new { feature = $"feat-{minute}" }) });

        // As two producers with different partitioners would: the same key on partitions 0 and 1, again and again.
        await Produce(0, "u-split", 1);
        await Produce(2, "u-single", 1);
        using var offsets = new GroupOffsets(streams);
        await Eventually.TrueAsync(() => offsets.CaughtUp(3), TimeSpan.FromSeconds(30), "the first records are processed");
        await Produce(1, "u-split", 2);
        await Produce(0, "u-split", 3);
        await Produce(1, "u-split", 4);
        await Produce(2, "u-single", 2);
        await Eventually.TrueAsync(() => offsets.CaughtUp(3), TimeSpan.FromSeconds(30), "every record is processed");

        Assert.Equal(1, Interlocked.Read(ref splits));
        var warning = Assert.Single(logs.Lines, l => l.Contains("on two partitions", StringComparison.Ordinal));
        Assert.StartsWith("Warning", warning, StringComparison.Ordinal);
        Assert.Contains($"User u-split arrived on {streams.Input}:1 but already has state on {streams.Input}:0", warning, StringComparison.Ordinal);

        var (code, explained) = await ExplainAsync(streams, "u-split");
        Assert.Equal(0, code);
        Assert.Contains($"user u-split has 2 separate states, on shards {streams.Input}:0, {streams.Input}:1", explained, StringComparison.Ordinal);
        Assert.Contains($"user u-split (shard {streams.Input}:0)", explained, StringComparison.Ordinal);
        Assert.Contains($"user u-split (shard {streams.Input}:1)", explained, StringComparison.Ordinal);
        // Each state holds only its own partition's events: nothing was merged behind the operator's back.
        var second = explained.IndexOf($"user u-split (shard {streams.Input}:1)", StringComparison.Ordinal);
        var (onFirst, onSecond) = (explained[..second], explained[second..]);
        Assert.True(onFirst.Contains("feat-1", StringComparison.Ordinal) && onFirst.Contains("feat-3", StringComparison.Ordinal), onFirst);
        Assert.False(onFirst.Contains("feat-2", StringComparison.Ordinal) || onFirst.Contains("feat-4", StringComparison.Ordinal), onFirst);
        Assert.True(onSecond.Contains("feat-2", StringComparison.Ordinal) && onSecond.Contains("feat-4", StringComparison.Ordinal), onSecond);
        Assert.False(onSecond.Contains("feat-1", StringComparison.Ordinal) || onSecond.Contains("feat-3", StringComparison.Ordinal), onSecond);

        var (singleCode, single) = await ExplainAsync(streams, "u-single");
        Assert.Equal(0, singleCode);
        Assert.DoesNotContain("separate states", single, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(single, "user u-single (shard"));
    }

    [Fact]
    public async Task WriteAsync_NewUserAlreadyIndexedOnAnotherShard_ReportsThatShardAndKeepsTheIndex()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var store = new UserStateStore(redis.Connection, new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix }, ResiliencePipeline.Empty);
        var (a, b) = ("clickstream:0", "clickstream:1");
        var splits = new List<(string, string)>();
        void OnSplit(string user, string other) => splits.Add((user, other));

        Assert.True(await store.WriteAsync(store.Prepare(a, await store.AcquireAsync(a, default), [new UserState { UserId = "u", LastEventAt = 1 }], ["u"]), default, OnSplit));
        Assert.True(await store.WriteAsync(store.Prepare(a, await store.AcquireAsync(a, default), [new UserState { UserId = "u", LastEventAt = 2 }], ["u"]), default, OnSplit));
        Assert.Empty(splits); // the same shard again (a user whose state expired, or a retried write) is no split
        Assert.True(await store.WriteAsync(store.Prepare(b, await store.AcquireAsync(b, default), [new UserState { UserId = "u", LastEventAt = 3 }], ["u"]), default, OnSplit));

        Assert.Equal([("u", a)], splits);
        Assert.Equal(a, await store.ShardOfAsync("u", default));
        Assert.Equal([(a, 2L), (b, 3L)], (await store.FindAllAsync("u", default)).Select(f => (f.Shard, f.State!.LastEventAt)));
    }

    [Fact]
    public async Task ProjectProducers_KeyedRecords_LandWhereJavasMurmur2PartitionerPutsThem()
    {
        const int partitions = 6;
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: partitions);
        var options = new KafkaOptions { BootstrapServers = streams.BootstrapServers };
        var keys = Enumerable.Range(0, 40).Select(i => $"user-{i}").Append("21").Append("a-little-bit-long-string").ToList();

        foreach (var config in new[] { KafkaClientConfigs.Producer(options), KafkaClientConfigs.RecordProducer(options, "test-demo-producer") })
        {
            using var producer = new ProducerBuilder<string, string>(config).Build();
            foreach (var key in keys)
            {
                var delivered = await producer.ProduceAsync(streams.Input, new Message<string, string> { Key = key, Value = "{}" });
                Assert.Equal(JavaPartition(key, partitions), delivered.Partition.Value);
            }
        }
        // The tests' own producer (TestStreams) too.
        var placed = await streams.ProduceManyAsync(keys.Select(k => ((string?)k, "{}"u8.ToArray())));
        Assert.All(keys, k => Assert.Equal(JavaPartition(k, partitions), placed[k]));
    }

    [Fact]
    public void Murmur2_KafkaUtilsTestVectors_MatchJava()
    {
        // The values of Kafka's UtilsTest.testMurmur2, so the reference used above is Java's own function.
        Assert.Equal(-973932308, Murmur2(Encoding.UTF8.GetBytes("21")));
        Assert.Equal(-790332482, Murmur2(Encoding.UTF8.GetBytes("foobar")));
        Assert.Equal(-985981536, Murmur2(Encoding.UTF8.GetBytes("a-little-bit-long-string")));
        Assert.Equal(-1486304829, Murmur2(Encoding.UTF8.GetBytes("a-little-bit-longer-string")));
        Assert.Equal(-58897971, Murmur2(Encoding.UTF8.GetBytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")));
        Assert.Equal(479470107, Murmur2("abc"u8.ToArray()));
    }

    private async Task<(int Code, string Output)> ExplainAsync(TestStreams streams, string user)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        var stdout = new StringWriter();
        var code = await Worker.ExplainCommand.RunAsync(["--user", user], config, stdout, TextWriter.Null, _clock);
        return (code, stdout.ToString());
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
    }

    /// <summary>Java's default partitioner for a keyed record: <c>Utils.toPositive(Utils.murmur2(key)) % partitions</c>.</summary>
    private static int JavaPartition(string key, int partitions) => (Murmur2(Encoding.UTF8.GetBytes(key)) & 0x7fffffff) % partitions;

    /// <summary>Kafka's <c>Utils.murmur2</c> (MurmurHash2, seed 0x9747b28c), transcribed.</summary>
    private static int Murmur2(byte[] data)
    {
        unchecked
        {
            const int m = 0x5bd1e995;
            const int r = 24;
            var length = data.Length;
            var h = (int)0x9747b28c ^ length;
            for (var i = 0; i < length / 4; i++)
            {
                var i4 = i * 4;
                var k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
                k *= m;
                k ^= (int)((uint)k >> r);
                k *= m;
                h *= m;
                h ^= k;
            }
            var tail = length & ~3;
            switch (length % 4)
            {
                case 3:
                    h ^= data[tail + 2] << 16;
                    goto case 2;
                case 2:
                    h ^= data[tail + 1] << 8;
                    goto case 1;
                case 1:
                    h ^= data[tail];
                    h *= m;
                    break;
            }
            h ^= (int)((uint)h >> 13);
            h *= m;
            h ^= (int)((uint)h >> 15);
            return h;
        }
    }
}

/// <summary>The bounded once-per-user memory behind the split-partition warning.</summary>
public sealed class SplitUserWarningsTests
{
    [Fact]
    public void ShouldWarn_SameUserTwice_WarnsOnce()
    {
        var warnings = new SplitUserWarnings(capacity: 10);

        Assert.True(warnings.ShouldWarn("u-1"));
        Assert.False(warnings.ShouldWarn("u-1"));
        Assert.True(warnings.ShouldWarn("u-2"));
    }

    [Fact]
    public void ShouldWarn_ManyMoreUsersThanCapacity_KeepsAtMostCapacityAndForgetsTheOldest()
    {
        var warnings = new SplitUserWarnings(capacity: 100);

        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(warnings.ShouldWarn($"u-{i}"));
        }

        Assert.Equal(100, warnings.Count);
        Assert.False(warnings.ShouldWarn("u-9999"));
        Assert.True(warnings.ShouldWarn("u-0")); // forgotten, so reported again
    }
}
