using MicroMoments.Stream.Core.Analytics;
using System.Diagnostics;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Drives the stages (docs/pipeline.md) on one dedicated thread: consume → parse → load → decide → pace (the
/// <see cref="BatchPipeline"/> that the warm-up and simulate run too, here over Redis and the wall clock), then the batch's
/// commit (persist state and outbox → publish → store offsets) is started and left in flight while the next batch
/// is consumed, parsed, loaded and decided; that batch's commit waits for it. Between batches the due timers of the
/// owned partitions go the same way (with no offsets). Rebalance callbacks run inside Consume on this same thread,
/// so the cache and the ownership need no locks.
/// </summary>
public sealed class ClickstreamWorker(
    PipelineStages stages,
    PipelineEvents events,
    PopulationSync population,
    HourlyOutcomes hourly,
    RuleEngineProvider engines,
    PipelineWarmUp warmUp,
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
    private readonly TimerCheckSchedule _timerChecks = new(time, pipelineOptions.Value.TimerCheckInterval);
    private long _nextPopulationSync;
    private long _nextGauges;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    /// <summary>The per-run wiring: the consumer, the Redis outage gate that pauses it, and the commit in flight.</summary>
    private sealed record Run(BatchConsumer Consumer, IStoreOutageGate Redis, CommitSlot Commits);

    private async Task RunAsync(CancellationToken ct)
    {
        await WarmUpAsync(ct);
        var tracker = new AssignmentTracker(stages.Ownership, stages.Cache, _timerChecks, health, telemetry, lifetime) { SettleTimeout = _kafka.SessionTimeout };
        stages.Publish.Initialize();
        using var consumer = new BatchConsumer(_kafka, tracker, logger);
        var gate = new RedisOutageGate(redisProbe, consumer, new RedisHealthReport(health, telemetry), time, logger);
        var run = new Run(consumer, gate, new CommitSlot(gate, consumer.Offsets));
        tracker.Commits = run.Commits;
        Log.Starting(logger, string.Join(",", _kafka.InputTopics), _kafka.GroupId, engines.Current.Rules.Version);
        health.Running = true;
        var wait = _options.TimerCheckInterval < _kafka.PollInterval ? _options.TimerCheckInterval : _kafka.PollInterval;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var batch = consumer.ConsumeBatch(wait, _kafka.MaxBatchSize, ct);
                if (batch.Count > 0)
                {
                    health.KafkaDown = null;
                    await ProcessBatchAsync(run, batch, ct);
                }
                else
                {
                    await run.Commits.CompleteAsync(ct);
                }
                if (_timerChecks.IsDue)
                {
                    await run.Commits.CompleteAsync(ct);
                    var check = _timerChecks.Start();
                    _timerChecks.Finish(check, await FireTimersAsync(run, ct));
                }
                if (time.GetTimestamp() >= _nextGauges)
                {
                    long pending = 0;
                    await gate.RunAsync(async () => pending = await stages.Timers.PendingAsync(stages.Ownership.Owned, ct), ct);
                    telemetry.PendingTimers(pending);
                    _nextGauges = time.GetTimestamp() + 5 * time.TimestampFrequency;
                }
                if (time.GetTimestamp() >= _nextPopulationSync)
                {
                    if (!await population.SyncAsync(engines.Population, gate, time.GetUtcNow(), ct))
                    {
                        telemetry.PopulationSyncFailed();
                    }
                    if (!await population.SyncArmsAsync(engines.Arms, gate, ct))
                    {
                        telemetry.PopulationSyncFailed();
                    }
                    if (!await population.SyncHourlyAsync(hourly, gate, ct))
                    {
                        telemetry.PopulationSyncFailed();
                    }
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
            if (run.Commits.IsBusy && !ct.IsCancellationRequested)
            {
                await run.Commits.CompleteAsync(ct);
            }
            try
            {
                // Also lets the last outbox clear land, so the next owner has no outbox to settle.
                await run.Commits.FinishOnShutdownAsync();
            }
            catch (Exception ex)
            {
                // Whatever failed, the consumer must still commit what is stored and leave the group cleanly.
                Log.ShutdownWriteFailed(logger, ex);
            }
            consumer.Close();
        }
    }

    private async Task WarmUpAsync(CancellationToken ct)
    {
        try
        {
            var (took, decisions) = await warmUp.RunAsync(ct);
            Log.WarmedUp(logger, took.TotalMilliseconds, decisions);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WarmUpFailed(logger, ex);
        }
    }

    private async Task ProcessBatchAsync(Run run, List<SourceRecord> batch, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        using var activity = PipelineTelemetry.Source.StartActivity("process clickstream batch", ActivityKind.Consumer);
        activity?.SetTag("messaging.batch.message_count", batch.Count);
        if (stages.Cache.IsOverLimit)
        {
            // Only empty the cache with no write in flight, or the next load could read a user's older state.
            await run.Commits.CompleteAsync(ct);
            stages.Cache.Trim();
        }
        var work = new BatchWork();
        var parsed = stages.Parse.Parse(batch, work, time.GetUtcNow());
        var ownership = stages.Ownership;
        if (run.Commits.IsBusy && parsed.Any(p => ownership.NeedsEpoch(p.Shard)))
        {
            // A shard assigned again after it was lost gets a new epoch below. The commit in flight still writes it
            // with the old one and would be refused: its state and commands lost while its offsets were stored.
            await run.Commits.CompleteAsync(ct);
        }
        await stages.Decide.RunAsync(parsed, [], work, run.Redis, ct);
        var commit = Prepare(work, BatchPositions.Of(batch));
        await run.Commits.CompleteAsync(ct);
        run.Commits.Start(commit);

        foreach (var g in batch.GroupBy(r => r.Topic))
        {
            telemetry.Event(g.Key, "received", g.Count());
        }
        foreach (var ((topic, outcome), n) in work.Outcomes)
        {
            telemetry.Event(topic, outcome, n);
        }
        run.Consumer.SampleLag(telemetry.Lag);
        telemetry.Batch(time.GetElapsedTime(started));
    }

    /// <summary>Fires due timers in every owned shard; returns true when a shard had more due than one check takes.</summary>
    private async Task<bool> FireTimersAsync(Run run, CancellationToken ct)
    {
        var ownership = stages.Ownership;
        if (ownership.Owned.Count == 0)
        {
            return false;
        }
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = new List<(string Shard, string[] Users)>();
        await run.Redis.RunAsync(async () =>
        {
            await ownership.AcquireAsync(ownership.Owned, ct);
            due = await stages.Timers.DueAsync(ownership.Owned, nowMs, _options.TimerBatchSize, ct);
        }, ct);
        if (due.Count == 0)
        {
            return false;
        }
        using var activity = PipelineTelemetry.Source.StartActivity("fire timers", ActivityKind.Internal);
        var work = new BatchWork();
        await stages.Decide.RunAsync([], due, work, run.Redis, ct);
        // The same way out as a batch, with no offsets; completed before the next batch is consumed.
        run.Commits.Start(Prepare(work, BatchPositions.None));
        await run.Commits.CompleteAsync(ct);
        return due.Any(d => d.Users.Length >= _options.TimerBatchSize);
    }

    /// <summary>The decided batch, ready to go out: its messages built, its state serialised with them as outboxes.</summary>
    private BatchCommit Prepare(BatchWork work, BatchPositions positions)
    {
        events.Report(work);
        var now = time.GetUtcNow();
        foreach (var counters in work.Counters.Values)
        {
            engines.Arms.Observe(counters);
            hourly.Observe(counters, now);
        }
        var messages = stages.Outbound.Build(work);
        var state = stages.Persist.Prepare(work, stages.Publish.Outboxes(messages), stages.Ownership.EpochOf);
        return new BatchCommit(state, stages.Publish.Prepare(messages), positions);
    }
}
