using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Options;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Runs one synthetic batch through parse → load → decide → pace → build → prepare the save → encode → read back, before the
/// consumer joins its group, so the first real batch does not pay for compiling the batch path (about 200 ms of JIT
/// in a fresh process, against 2–5 ms warm; docs/benchmarks.md).
/// </summary>
/// <remarks>
/// Nothing leaves the process and nothing shared is touched: the batch goes through the worker's own <see cref="BatchPipeline"/>,
/// built here from throwaway stages with their own cache, engine (<see cref="RuleEngineProvider.Detached"/>), activity source
/// and a silent event sink, so no metric, statistic or cached user sees these events; an <see cref="InMemoryRateLedger"/>, so
/// the minutes the instances share are untouched; and every shard owned with no epoch taken (<see cref="AllShardsOwned"/>).
/// </remarks>
public sealed class PipelineWarmUp(PipelineStages stages, RuleEngineProvider engines, ClickEventParser parser, IConnectionMultiplexer redis,
    IOptions<RedisOptions> redisOptions, IOptions<KafkaOptions> kafka, TimeProvider time)
{
    // Its own store: no retries, no circuit breaker and no Redis metrics of the worker's are touched by these calls.
    private readonly UserStateStore _store = new(redis, redisOptions.Value, ResiliencePipeline.Empty);

    private const string Topic = "warm-up";
    private const int Users = 16;
    private const long RefusedEpoch = 0;

    /// <summary>
    /// Returns how long it took and how many decisions the rules made. The load reads the made-up users from Redis (they are never there), and the save is
    /// sent with epoch 0, which no owner ever has (epochs count from 1), so the script refuses it before writing
    /// anything; with the outbox and timer reads of a new assignment, that compiles the Redis client's read and script
    /// paths. A Redis that is down only ends it early.
    /// </summary>
    public async Task<(TimeSpan Took, int Decisions)> RunAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var events = new SilentEvents();
        var engine = engines.Detached();
        var cache = new UserStateCache(Users * 2);
        var parse = new ParseStage(parser, RedisKeys.Shard, events);
        var pipeline = new BatchPipeline(new LoadStage(cache, new UserStateReader(_store)), new DecideStage(() => engine, cache, events),
            new PaceStage(() => engine, new InMemoryRateLedger()), AllShardsOwned.Instance, time);
        var now = time.GetUtcNow();
        var work = new BatchWork();
        var parsed = parse.Parse(Records(now), work, now);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        // No gate: a Redis that is down ends the warm-up, it is not waited for.
        await pipeline.RunAsync(parsed, [], work, NoOutageGate.Instance, timeout.Token);
        // Its own activity source, which nothing listens to: no spans for these commands.
        using var activities = new ActivitySource(Topic);
        var messages = new OutboundBuilder(kafka, activities).Build(work);
        var state = (PreparedShardWrites)stages.Persist.Prepare(work, stages.Publish.Outboxes(messages), _ => RefusedEpoch);
        foreach (var (_, command, _) in work.Interventions)
        {
            _ = InterventionCloudEvents.Encode(command);
        }
        foreach (var blob in state.Writes.SelectMany(w => w.States))
        {
            _ = UserStateSerializer.Deserialize(blob);
        }
        foreach (var write in state.Writes)
        {
            // No new users: those would be written to the user index before the script runs.
            if (await _store.WriteAsync(write with { NewUsers = [] }, timeout.Token))
            {
                throw new InvalidOperationException($"the warm-up save to {write.Shard} was not refused");
            }
        }
        // The reads a new assignment makes first: each shard's outbox and the due timers.
        var shards = state.Writes.Select(w => w.Shard).ToList();
        foreach (var shard in shards)
        {
            _ = await _store.ReadOutboxAsync(shard, timeout.Token);
        }
        _ = await _store.DueUsersAsync(shards, now.ToUnixTimeMilliseconds(), 1, timeout.Token);
        return (Stopwatch.GetElapsedTime(started), work.Decisions.Count);
    }

    /// <summary>A few users doing what the default catalogue reacts to: views, identify, failed tasks, a cart.</summary>
    private static List<SourceRecord> Records(DateTimeOffset now)
    {
        string[] lines =
        [
            """{"type":"identify","traits":{"plan":"trial","email":"warm@example.invalid"},"context":{"timezone":"Europe/Berlin","device":{"type":"ios"}}}""",
            """{"type":"page","name":"Setup","properties":{"path":"/setup"}}""",
            """{"type":"track","event":"Signed Up"}""",
            """{"type":"track","event":"Task Failed","properties":{"task":"connect","durationMs":1200}}""",
            """{"type":"track","event":"Task Failed","properties":{"task":"connect","durationMs":900}}""",
            """{"type":"track","event":"Task Failed","properties":{"task":"connect","durationMs":800}}""",
            """{"type":"track","event":"Feature Used","properties":{"feature":"reports"}}""",
            """{"type":"track","event":"Product Added","properties":{"cart_id":"c1","value":18.99}}""",
            """{"type":"screen","name":"Cart"}""",
        ];
        var records = new List<SourceRecord>(Users * lines.Length);
        for (var u = 0; u < Users; u++)
        {
            var user = $"warm-up-{u}";
            for (var i = 0; i < lines.Length; i++)
            {
                var at = now - TimeSpan.FromSeconds(lines.Length - i);
                var json = lines[i].Insert(1, $"\"userId\":\"{user}\",\"messageId\":\"{user}-{i}\",\"timestamp\":\"{at:O}\",");
                records.Add(new SourceRecord(Topic, u % 4, records.Count, at.UtcDateTime, Encoding.UTF8.GetBytes(user), Encoding.UTF8.GetBytes(json)));
            }
        }
        return records;
    }

    private sealed class SilentEvents : IPipelineEvents
    {
        public void DeadLettered(RejectedRecord rejected) { }
        public void UnknownTimezones(int count) { }
        public void RuleFailed(Exception ex, RecordSource source) { }
        public void AliasMerged(string outcome) { }
        public void AliasNotMerged(string previousId, string userId, string reason, RecordSource source) { }
        public void Decided(TimeSpan eventToDecision) { }
        public void TimerFailed(Exception ex, string shard, string userId) { }
        public void TimerFired(TimeSpan late) { }
    }
}
