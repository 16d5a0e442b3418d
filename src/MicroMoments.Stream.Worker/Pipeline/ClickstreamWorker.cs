using System.Diagnostics;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// The dedicated consume loop. One thread consumes a batch and has the pipeline apply it; then the batch is
/// committed: its state and, as the shard's outbox, the messages it produces are written to Redis in one
/// fenced script, the messages are produced and acknowledged by Kafka, the outbox is cleared, and only then
/// are the offsets stored. A crash between the write and the acks leaves the outbox for the next owner,
/// which re-sends only what the output topic lacks. A batch's state is serialised before its commit starts,
/// so the commit overlaps the next batch's work; the next batch's own commit waits for it. Between batches
/// the loop fires the due timers of the partitions it owns. Rebalance callbacks run inside Consume on this
/// same thread, so the cache and the owned set need no locks.
/// </summary>
public sealed class ClickstreamWorker(
    StreamPipeline pipeline,
    InterventionPublisher publisher,
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<PipelineOptions> pipelineOptions,
    PipelineHealth health,
    PipelineTelemetry telemetry,
    RedisProbe redisProbe,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ClickstreamWorker> logger) : BackgroundService
{
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly PipelineOptions _options = pipelineOptions.Value;
    private readonly HashSet<string> _owned = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicPartition, Offset> _stored = [];
    private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);
    private readonly OffsetGapMonitor _gaps = new(health, telemetry, logger);
    private PendingBatch? _pending;
    private readonly TimerCheckSchedule _timerChecks = new(time, pipelineOptions.Value.TimerCheckInterval);
    private long _nextPopulationSync;
    private long _nextGauges;

    /// <summary>
    /// A batch on its way out: state and outbox to Redis, then the messages of the shards written to Kafka,
    /// then the outboxes cleared. Safe to run again after a failure: it goes on from the step that failed.
    /// </summary>
    private sealed class BatchCommit(StreamPipeline pipeline, InterventionPublisher publisher, ILogger logger, IReadOnlyList<ShardWrite> writes, Dictionary<string, List<Outbound>> outbound)
    {
        private HashSet<string>? _written;
        private bool _published;

        public Task Task { get; private set; } = Task.CompletedTask;

        public BatchCommit Start()
        {
            Task = RunAsync();
            return this;
        }

        public async Task RunAsync()
        {
            // Not cancellable: once a shard's outbox is written its messages must go out, or its offsets stay put.
            _written ??= await pipeline.SaveAsync(writes, CancellationToken.None);
            if (_published)
            {
                return;
            }
            await publisher.ProduceAsync(outbound.Where(o => _written.Contains(o.Key)).SelectMany(o => o.Value));
            _published = true;
            try
            {
                await pipeline.Store.ClearOutboxesAsync(
                    writes.Where(w => w.HasOutbox && _written.Contains(w.Shard)).Select(w => (w.Shard, w.Epoch)).ToList(), CancellationToken.None);
            }
            catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
            {
                Log.OutboxClearFailed(logger, ex);
            }
        }
    }

    /// <summary>A consumed batch whose commit is in flight: its offsets are stored once the commit completes.</summary>
    private sealed record PendingBatch(BatchCommit Commit, List<ConsumeResult<byte[]?, byte[]?>> Records)
    {
        public Task Task => Commit.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Consumer(_kafka))
            .SetPartitionsAssignedHandler((c, parts) =>
            {
                OnAssigned(parts);
                _gaps.Assigned(c, parts);
            })
            .SetPartitionsRevokedHandler((c, parts) => OnRevoked(c, parts))
            .SetPartitionsLostHandler((c, parts) => OnLost(parts))
            .SetErrorHandler((_, e) => OnError(e))
            .Build();
        var topics = _kafka.InputTopics;
        publisher.Initialize();
        consumer.Subscribe(topics);
        Log.Starting(logger, string.Join(",", topics), _kafka.GroupId, RuleVersion());
        health.Running = true;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var batch = ConsumeBatch(consumer, ct);
                if (batch.Count > 0)
                {
                    health.KafkaDown = null;
                    await ProcessBatchAsync(consumer, batch, ct);
                }
                else
                {
                    await CompletePendingAsync(consumer, ct);
                }
                if (_timerChecks.IsDue)
                {
                    await CompletePendingAsync(consumer, ct);
                    var check = _timerChecks.Start();
                    _timerChecks.Finish(check, await FireTimersAsync(consumer, ct));
                }
                if (time.GetTimestamp() >= _nextGauges)
                {
                    await SampleGaugesAsync(consumer, ct);
                    _nextGauges = time.GetTimestamp() + 5 * time.TimestampFrequency;
                }
                if (time.GetTimestamp() >= _nextPopulationSync)
                {
                    await SyncPopulationAsync(consumer, ct);
                    _nextPopulationSync = time.GetTimestamp() + 10 * time.TimestampFrequency;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown: the batch in hand either finished or left its offsets unstored for redelivery.
        }
        catch (Exception ex)
        {
            Log.LoopFailed(logger, ex);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
        finally
        {
            health.Running = false;
            if (_pending is not null && !ct.IsCancellationRequested)
            {
                await CompletePendingAsync(consumer, ct);
            }
            else if (_pending is not null)
            {
                await FinishOnShutdownAsync(consumer);
            }
            try
            {
                consumer.Commit();
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
            {
                // nothing stored since the last commit
            }
            catch (KafkaException ex)
            {
                Log.CommitFailed(logger, ex.Error.Reason);
            }
            consumer.Close();
            Log.Stopped(logger);
        }
    }

    private string RuleVersion() => pipeline.Engines.Current.Rules.Version;

    private List<ConsumeResult<byte[]?, byte[]?>> ConsumeBatch(IConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
        var first = consumer.Consume(_options.TimerCheckInterval < _kafka.PollInterval ? _options.TimerCheckInterval : _kafka.PollInterval);
        if (first is null)
        {
            return batch;
        }
        batch.Add(first);
        _gaps.Observe(consumer, first);
        while (batch.Count < _kafka.MaxBatchSize && !ct.IsCancellationRequested && consumer.Consume(TimeSpan.Zero) is { } next)
        {
            batch.Add(next);
            _gaps.Observe(consumer, next);
        }
        return batch;
    }

    private async Task ProcessBatchAsync(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        using var activity = PipelineTelemetry.Source.StartActivity("process clickstream batch", ActivityKind.Consumer);
        activity?.SetTag("messaging.batch.message_count", batch.Count);
        if (pipeline.Cache.IsOverLimit)
        {
            // Only empty the cache with no write in flight, or the next load could read a user's older state.
            await CompletePendingAsync(consumer, ct);
            pipeline.Cache.Trim();
        }
        var work = new BatchWork();
        var parsed = pipeline.Parse(batch, work);
        if (_pending is not null && parsed.Any(p => _owned.Contains(p.Shard) && !_epochs.ContainsKey(p.Shard)))
        {
            // A shard assigned again after it was lost gets a new epoch below. The commit in flight still writes it
            // with the old one and would be refused: its state and commands lost while its offsets were stored.
            await CompletePendingAsync(consumer, ct);
        }
        await WithRedisAsync(consumer, async () =>
        {
            await AcquireEpochsAsync(parsed.Select(p => p.Shard), ct);
            await pipeline.LoadAsync(parsed.Select(p => (p.Shard, p.Event.UserId)), work, ct);
            await AcquireEpochsAsync(await pipeline.LoadAliasedAsync(parsed, _owned.Contains, ct), ct);
        }, ct);
        pipeline.Apply(parsed, work);
        var outbound = publisher.Build(work);
        var writes = pipeline.PrepareSave(work, outbound, publisher.Encode, EpochOf);
        await CompletePendingAsync(consumer, ct);
        _pending = new PendingBatch(new BatchCommit(pipeline, publisher, logger, writes, outbound).Start(), batch);

        foreach (var g in batch.GroupBy(r => r.Topic))
        {
            telemetry.Event(g.Key, "received", g.Count());
        }
        foreach (var ((topic, outcome), n) in work.Outcomes)
        {
            telemetry.Event(topic, outcome, n);
        }
        SampleLag(consumer);
        telemetry.Batch(time.GetElapsedTime(started));
    }

    /// <summary>Fires due timers in every owned shard; returns true when a shard had more due than one check takes.</summary>
    private async Task<bool> FireTimersAsync(IConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        if (_owned.Count == 0)
        {
            return false;
        }
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = new List<(string Shard, string[] Users)>();
        await WithRedisAsync(consumer, async () =>
        {
            due.Clear();
            await AcquireEpochsAsync(_owned, ct);
            due.AddRange((await pipeline.Store.DueUsersAsync(_owned, nowMs, _options.TimerBatchSize, ct)).Where(d => d.Users.Length > 0));
        }, ct);
        if (due.Count == 0)
        {
            return false;
        }
        using var activity = PipelineTelemetry.Source.StartActivity("fire timers", ActivityKind.Internal);
        var work = new BatchWork();
        await WithRedisAsync(consumer, () => pipeline.LoadAsync(due.SelectMany(d => d.Users.Select(u => (d.Shard, u))), work, ct), ct);
        foreach (var (shard, users) in due)
        {
            pipeline.FireTimers(shard, users, work);
        }
        var outbound = publisher.Build(work);
        var commit = new BatchCommit(pipeline, publisher, logger, pipeline.PrepareSave(work, outbound, publisher.Encode, EpochOf), outbound);
        await WithRedisAsync(consumer, commit.RunAsync, ct);
        return due.Any(d => d.Users.Length >= _options.TimerBatchSize);
    }

    /// <summary>
    /// Runs a Redis stage. When Redis stays unavailable past the Polly retries, consumption is paused and the
    /// stage retried with backoff until Redis answers; Consume keeps being called so the group membership
    /// and rebalance callbacks stay alive. Nothing is skipped: the batch in hand completes once Redis is back.
    /// Each retry first asks Redis itself (<see cref="RedisProbe"/>), which closes the circuit breaker when it
    /// answers: retrying through the breaker alone left the resume to whichever call won its one half-open trial
    /// per break, and a trial that failed for its own reason, or never ended, could keep the loop paused while Redis answered.
    /// </summary>
    private async Task WithRedisAsync(IConsumer<byte[]?, byte[]?> consumer, Func<Task> stage, CancellationToken ct, Task? started = null)
    {
        try
        {
            await (started ?? stage());
            return;
        }
        catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
        {
            telemetry.RedisError();
            if (RefusalOf(ex) is { } refused)
            {
                health.RedisRefused = refused;
                Log.RedisAuthFailed(logger, refused, ex);
            }
            else
            {
                Log.RedisDown(logger, ex);
            }
        }
        health.RedisAvailable = false;
        var since = time.GetTimestamp();
        consumer.Pause(consumer.Assignment);
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (consumer.Consume(delay) is { } unexpected)
            {
                // A partition assigned while paused delivered a record: put it back for after the pause.
                consumer.Seek(unexpected.TopicPartitionOffset);
                consumer.Pause([unexpected.TopicPartition]);
            }
            try
            {
                if (await redisProbe.AnswersAsync())
                {
                    await stage();
                    break;
                }
                if (redisProbe.LastFailure is { } failure)
                {
                    // Credentials or ACL changed during the pause (either way): readiness names the current cause.
                    health.RedisRefused = RefusalOf(failure);
                }
            }
            catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
            {
                // Redis answers PING but the stage failed (a node still loading, a cluster not yet serving, an ACL
                // that allows PING but not the stage's commands): back off too.
                health.RedisRefused = RefusalOf(ex);
            }
            telemetry.RedisError();
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxPauseBackoff.Ticks));
        }
        consumer.Resume(consumer.Assignment);
        health.RedisAvailable = true;
        health.RedisRefused = null;
        Log.RedisBack(logger, time.GetElapsedTime(since).TotalSeconds);
    }

    /// <summary>What readiness says when Redis answers but refuses this worker, or null for an outage.</summary>
    internal static string? RefusalOf(Exception ex) =>
        RedisResilience.IsAuthenticationFailure(ex) ? "Redis authentication failed"
        : RedisResilience.IsPermissionFailure(ex) ? "Redis refused the command for this user (NOPERM: its ACL forbids it)"
        : null;

    /// <summary>Consumer lag per owned partition, from the client's cached watermarks: no I/O, so after every batch.</summary>
    private void SampleLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        foreach (var tp in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(tp).High;
            var position = consumer.Position(tp);
            if (high != Offset.Unset && position != Offset.Unset)
            {
                telemetry.Lag(tp.Topic, tp.Partition.Value, Math.Max(0, high.Value - position.Value));
            }
        }
    }

    /// <summary>The timer backlog of the owned partitions (one ZCARD each, in one batch).</summary>
    private async Task SampleGaugesAsync(IConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        long pending = 0;
        await WithRedisAsync(consumer, async () =>
        {
            pending = await pipeline.Store.PendingTimersAsync(_owned, ct);
        }, ct);
        telemetry.PendingTimers(pending);
    }

    /// <summary>Shares this instance's task-time observations and takes in everyone else's.</summary>
    private async Task SyncPopulationAsync(IConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        var population = pipeline.Engines.Population;
        var pending = population.TakePending();
        try
        {
            await WithRedisAsync(consumer, async () => population.Load(await pipeline.Store.SyncPopulationAsync(pending, time.GetUtcNow(), ct)), ct);
        }
        catch (Exception ex) when (RedisResilience.IsCommandError(ex))
        {
            // Redis refused the command: the same command would be refused again, so waiting it out would stall the
            // stream for advisory statistics. The votes go; the stream goes on.
            telemetry.PopulationSyncFailed();
            Log.PopulationSyncRefused(logger, ex);
        }
    }

    /// <summary>Waits for the in-flight commit (going on from its snapshot if Redis failed), then stores its offsets.</summary>
    private async Task CompletePendingAsync(IConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        if (_pending is not { } p)
        {
            return;
        }
        _pending = null;
        await WithRedisAsync(consumer, p.Commit.RunAsync, ct, p.Task);
        StoreOffsets(consumer, p.Records);
    }

    /// <summary>On shutdown, a commit already in flight is awaited once; if it failed, its offsets stay unstored for redelivery.</summary>
    private async Task FinishOnShutdownAsync(IConsumer<byte[]?, byte[]?> consumer)
    {
        var p = _pending!;
        _pending = null;
        try
        {
            await p.Task;
            StoreOffsets(consumer, p.Records);
        }
        catch (Exception ex)
        {
            // Whatever failed, the consumer must still commit what is stored and leave the group cleanly.
            Log.ShutdownWriteFailed(logger, ex);
        }
    }

    private long? EpochOf(string shard) => _epochs.TryGetValue(shard, out var e) ? e : null;

    /// <summary>
    /// Becomes the writer of each shard not yet acquired since it was assigned. An outbox left by the
    /// previous owner (it stopped between writing a batch and its acks) is settled first: what the output
    /// topic lacks is re-sent, so nothing it decided is lost and no command goes out twice.
    /// </summary>
    private async Task AcquireEpochsAsync(IEnumerable<string> shards, CancellationToken ct)
    {
        foreach (var shard in shards.Distinct().Where(s => _owned.Contains(s) && !_epochs.ContainsKey(s)).ToList())
        {
            var epoch = await pipeline.Store.AcquireAsync(shard, ct);
            if (await pipeline.Store.ReadOutboxAsync(shard, ct) is { } outbox)
            {
                var (found, resent) = await publisher.RecoverAsync(outbox, ct);
                await pipeline.Store.ClearOutboxesAsync([(shard, epoch)], ct);
                Log.OutboxRecovered(logger, shard, found, resent);
            }
            _epochs[shard] = epoch;
        }
    }

    /// <summary>Longest wait between two checks whether Redis answers again: how late, at most, the loop resumes.</summary>
    private static readonly TimeSpan MaxPauseBackoff = TimeSpan.FromSeconds(2);

    private void StoreOffsets(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        foreach (var last in batch.GroupBy(r => r.TopicPartition).Select(g => g.MaxBy(r => r.Offset.Value)!))
        {
            if (!_owned.Contains(RedisKeys.Shard(last.Topic, last.Partition.Value)))
            {
                continue; // revoked while Redis was down: the new owner redoes this part
            }
            var next = new TopicPartitionOffset(last.TopicPartition, last.Offset + 1);
            consumer.StoreOffset(next);
            _stored[last.TopicPartition] = next.Offset;
        }
    }

    private void OnAssigned(List<TopicPartition> parts)
    {
        health.Joined = true;
        health.KafkaDown = null;
        foreach (var p in parts)
        {
            _owned.Add(RedisKeys.Shard(p.Topic, p.Partition.Value));
        }
        health.Partitions = _owned.Count;
        _timerChecks.CheckNow(); // fire what became due while nobody owned these partitions
        Log.Assigned(logger, string.Join(",", parts));
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> parts)
    {
        SettleBeforeRevoke(consumer);
        var commit = parts.Where(p => _stored.ContainsKey(p.TopicPartition)).Select(p => new TopicPartitionOffset(p.TopicPartition, _stored[p.TopicPartition])).ToList();
        if (commit.Count > 0)
        {
            try
            {
                consumer.Commit(commit);
            }
            catch (KafkaException ex)
            {
                Log.RevokeCommitFailed(logger, ex.Error.Reason);
            }
        }
        Forget(parts.Select(p => p.TopicPartition));
        Log.Revoked(logger, string.Join(",", parts.Select(p => p.TopicPartition)));
    }

    /// <summary>
    /// Lets the commit in flight finish before partitions go, so the next owner never races this instance's
    /// produce of an outbox it is recovering; its offsets are then committed with the revoke. Bounded: a
    /// commit stuck on a Redis outage is left to finish later (its writes to revoked shards are fenced off).
    /// </summary>
    private void SettleBeforeRevoke(IConsumer<byte[]?, byte[]?> consumer)
    {
        if (_pending is not { } p)
        {
            return;
        }
        try
        {
            p.Task.Wait(_kafka.SessionTimeout);
        }
        catch (AggregateException)
        {
            return; // CompletePendingAsync goes on from the failed step
        }
        if (p.Task.IsCompletedSuccessfully)
        {
            _pending = null;
            StoreOffsets(consumer, p.Records);
        }
    }

    private void OnLost(List<TopicPartitionOffset> parts)
    {
        Forget(parts.Select(p => p.TopicPartition));
        Log.Lost(logger, string.Join(",", parts.Select(p => p.TopicPartition)));
    }

    private void Forget(IEnumerable<TopicPartition> parts)
    {
        foreach (var p in parts)
        {
            var shard = RedisKeys.Shard(p.Topic, p.Partition.Value);
            _owned.Remove(shard);
            _epochs.Remove(shard);
            _stored.Remove(p);
            _gaps.Forget(p);
            pipeline.Cache.Drop(shard);
            telemetry.ForgetLag(p.Topic, p.Partition.Value);
        }
        health.Partitions = _owned.Count;
    }

    private void OnError(Error e)
    {
        Log.KafkaError(logger, e.Code.ToString(), e.Reason);
        if (e.Code == ErrorCode.Local_AllBrokersDown)
        {
            health.KafkaDown = e.Reason;
        }
        if (e.IsFatal)
        {
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }
}
