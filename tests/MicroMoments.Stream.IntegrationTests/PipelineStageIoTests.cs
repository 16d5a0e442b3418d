using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The stages that are I/O only, each against the real redis-server or the mock cluster the suite uses.</summary>
[Collection(InfraCollection.Name)]
public sealed class PipelineStageIoTests(KafkaFixture kafka, RedisFixture redis)
{
    private UserStateStore NewStore(string prefix) =>
        new(redis.Connection, new RedisOptions { Configuration = redis.Configuration, KeyPrefix = prefix }, ResiliencePipeline.Empty);

    private static BatchWork Changed(params (string Shard, string UserId)[] users)
    {
        var work = new BatchWork();
        foreach (var (shard, userId) in users)
        {
            work.MarkDirty(shard, new UserState { UserId = userId, LastEventAt = 1 });
        }
        return work;
    }

    [Fact]
    public async Task StatePersister_ShardWithNewerOwner_LeftOutOfWrittenAndOutboxClearedOnlyForTheOther()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var store = NewStore(prefix);
        var epochs = new Dictionary<string, long> { ["in:0"] = await store.AcquireAsync("in:0", default), ["in:1"] = await store.AcquireAsync("in:1", default) };
        await NewStore(prefix).AcquireAsync("in:1", default); // another instance took in:1
        var persister = new StatePersister(store, NullLogger<StatePersister>.Instance);
        var outboxes = new Dictionary<string, byte[]> { ["in:0"] = [1], ["in:1"] = [2] };

        var prepared = persister.Prepare(Changed(("in:0", "a"), ("in:1", "b")), outboxes, s => epochs[s]);
        var written = await prepared.SaveAsync(default);
        var outboxBefore = await store.ReadOutboxAsync("in:0", default);
        await prepared.ClearOutboxesAsync(written, default);

        Assert.Equal(["in:0"], written);
        Assert.Equal([1], outboxBefore!);
        Assert.Null(await store.ReadOutboxAsync("in:0", default));
        Assert.Null(await store.FindAsync("b", default));
    }

    [Fact]
    public async Task StatePersister_ClearLandsAfterTheShardsNextWrite_LeavesThatWritesOutbox()
    {
        var store = NewStore($"t{Guid.NewGuid():N}:");
        var epochs = new Dictionary<string, long> { ["in:0"] = await store.AcquireAsync("in:0", default) };
        var persister = new StatePersister(store, NullLogger<StatePersister>.Instance);
        var first = persister.Prepare(Changed(("in:0", "a")), new Dictionary<string, byte[]> { ["in:0"] = [1] }, s => epochs[s]);
        var second = persister.Prepare(Changed(("in:0", "a")), new Dictionary<string, byte[]> { ["in:0"] = [2] }, s => epochs[s]);

        var written = await first.SaveAsync(default);
        await second.SaveAsync(default); // the next batch's write, before the first batch's clear (the clear is not awaited)
        await first.ClearOutboxesAsync(written, default);
        var afterLateClear = await store.ReadOutboxAsync("in:0", default);
        await second.ClearOutboxesAsync(written, default);

        Assert.Equal([2], afterLateClear!);
        Assert.Null(await store.ReadOutboxAsync("in:0", default));
    }

    [Fact]
    public async Task StatePersister_ShardNotOwned_NotWrittenAtAll()
    {
        var store = NewStore($"t{Guid.NewGuid():N}:");
        var persister = new StatePersister(store, NullLogger<StatePersister>.Instance);

        var written = await persister.Prepare(Changed(("in:0", "a")), new Dictionary<string, byte[]>(), _ => null).SaveAsync(default);

        Assert.Empty(written);
        Assert.Null(await store.FindAsync("a", default));
    }

    private sealed class RecordingRecovery : IOutboxRecovery
    {
        public List<byte[]> Recovered { get; } = [];

        public Task<(int Found, int Resent)> RecoverAsync(byte[] outbox, CancellationToken ct)
        {
            Recovered.Add(outbox);
            return Task.FromResult((0, 1));
        }
    }

    [Fact]
    public async Task ShardOwnership_OutboxLeftByPreviousOwner_RecoveredAndClearedOnceOnAcquire()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var store = NewStore(prefix);
        var previous = await store.AcquireAsync("in:0", default);
        Assert.True(await store.WriteAsync(store.Prepare("in:0", previous, [], [], outbox: [7, 7]), default));
        var recovery = new RecordingRecovery();
        var ownership = new ShardOwnership(store, recovery, NullLogger<ShardOwnership>.Instance);
        ownership.Assigned("in:0");

        await ownership.AcquireAsync(["in:0", "in:0", "in:9"], default);
        await ownership.AcquireAsync(["in:0"], default);

        Assert.Equal([7, 7], Assert.Single(recovery.Recovered));
        Assert.Null(await store.ReadOutboxAsync("in:0", default));
        Assert.Equal(previous + 1, ownership.EpochOf("in:0"));
        Assert.Null(ownership.EpochOf("in:9")); // not owned: never acquired
    }

    [Fact]
    public async Task TimerIndex_TwoShards_DueUsersOfShardsWithAnyAndPendingSummed()
    {
        var store = NewStore($"t{Guid.NewGuid():N}:");
        var db = redis.Connection.GetDatabase();
        await db.SortedSetAddAsync(store.Keys.Timers("in:0"), [new("due", 100), new("later", 900)]);
        await db.SortedSetAddAsync(store.Keys.Timers("in:1"), [new("later", 900)]);
        var timers = new TimerIndex(store);

        var due = await timers.DueAsync(["in:0", "in:1", "in:2"], nowMs: 500, limit: 10, default);
        var pending = await timers.PendingAsync(["in:0", "in:1", "in:2"], default);

        Assert.Equal([("in:0", "due")], due.Select(d => (d.Shard, Assert.Single(d.Users))));
        Assert.Equal(3, pending);
    }

    private sealed class RecordingPause : IConsumptionPause, IRedisHealthListener
    {
        public List<string> Calls { get; } = [];
        public void Pause() => Calls.Add("pause");
        public void Poll(TimeSpan wait) => Calls.Add("poll");
        public void Resume() => Calls.Add("resume");
        public void ErrorSeen() => Calls.Add("error");
        public void RefusalChanged(string? refusal) { }
        public void AvailabilityChanged(bool available) => Calls.Add(available ? "available" : "unavailable");
    }

    [Fact]
    public async Task RedisOutageGate_StageFailsAsUnavailable_PausedRetriedOnceRedisAnswersThenResumed()
    {
        var pause = new RecordingPause();
        var gate = new RedisOutageGate(new RedisProbe(redis.Connection, new CircuitBreakerManualControl()), pause, pause, TimeProvider.System, NullLogger.Instance);
        var attempts = 0;

        await gate.RunAsync(() => ++attempts == 1 ? throw new TimeoutException("Redis timed out") : Task.CompletedTask, default);

        Assert.Equal(2, attempts);
        Assert.Equal(["error", "unavailable", "pause", "poll", "resume", "available"], pause.Calls);
    }

    private sealed class Partitions : IPartitionListener
    {
        public int Assigned { get; private set; }
        void IPartitionListener.Assigned(IReadOnlyList<(string Topic, int Partition)> partitions) => Assigned += partitions.Count;
        public void Revoking(IReadOnlyList<(string Topic, int Partition)> partitions) { }
        public void Released(IReadOnlyList<(string Topic, int Partition)> partitions) { }
        public void KafkaError(string? brokersDown, bool fatal) { }
        public void RecordsLost(string topic, int partition, long count, string description) { }
    }

    [Fact]
    public async Task BatchConsumer_BatchConsumedAndStored_CommittedOnCloseWithHeadersKept()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync($"u-{i}", Encoding.UTF8.GetBytes($"v{i}"), new Confluent.Kafka.Headers { { "h", [(byte)i] } });
        }
        var options = new KafkaOptions { BootstrapServers = streams.BootstrapServers, GroupId = streams.GroupId, InputTopics = [streams.Input], SessionTimeout = TimeSpan.FromSeconds(6) };
        var listener = new Partitions();
        var records = new List<SourceRecord>();
        using (var consumer = new BatchConsumer(options, listener, NullLogger.Instance))
        {
            var elapsed = Stopwatch.StartNew();
            while (records.Count < 3 && elapsed.Elapsed < TimeSpan.FromSeconds(30))
            {
                records.AddRange(consumer.ConsumeBatch(TimeSpan.FromMilliseconds(200), 10, default));
            }
            consumer.Offsets.Store(BatchPositions.Of(records));
            consumer.Close();
        }

        using var offsets = new GroupOffsets(streams);
        Assert.Equal(1, listener.Assigned);
        Assert.Equal(["v0", "v1", "v2"], records.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal([(byte)2], records[2].LastHeader("h")!);
        Assert.Equal([3L], offsets.Committed(1));
    }
}
