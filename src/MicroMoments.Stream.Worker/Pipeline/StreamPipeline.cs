using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// The stages of one batch: parse, load state, apply rules, then (driven by the loop) publish and save.
/// Kafka and Redis I/O stays thin here; the decisions are the Core's.
/// </summary>
public sealed class StreamPipeline(
    RuleEngineProvider engines,
    ClickEventParser parser,
    UserStateStore store,
    UserStateCache cache,
    TimeProvider time,
    PipelineTelemetry telemetry,
    ILogger<StreamPipeline> logger)
{
    /// <summary>A record that parsed, with where it came from and the trace it belongs to.</summary>
    public readonly record struct Parsed(ClickEvent Event, RecordSource Source, string Shard, ActivityContext Parent, ConsumeResult<byte[]?, byte[]?> Record);

    public List<Parsed> Parse(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, BatchWork work)
    {
        var now = time.GetUtcNow();
        var parsed = new List<Parsed>(batch.Count);
        foreach (var r in batch)
        {
            var source = new RecordSource(r.Topic, r.Partition.Value, r.Offset.Value, r.Message.Timestamp.UtcDateTime);
            var key = r.Message.Key is null ? null : Encoding.UTF8.GetString(r.Message.Key);
            var result = r.Message.Value is null
                ? ParseResult.Reject(RejectReasons.MalformedJson, "the record has no value")
                : parser.Parse(r.Message.Value, key, source, now);
            if (!result.IsValid)
            {
                DeadLetter(work, r, result.Reason!, result.Error!);
                continue;
            }
            var parent = default(ActivityContext);
            if (r.Message.Headers?.TryGetLastBytes("traceparent", out var tp) == true)
            {
                ActivityContext.TryParse(Encoding.UTF8.GetString(tp), null, isRemote: true, out parent);
            }
            parsed.Add(new Parsed(result.Event!, source, RedisKeys.Shard(r.Topic, r.Partition.Value), parent, r));
        }
        return parsed;
    }

    /// <summary>Loads every user of the batch that is not cached, one round trip per shard; safe to retry.</summary>
    public async Task LoadAsync(IEnumerable<(string Shard, string UserId)> users, BatchWork work, CancellationToken ct)
    {
        var missing = users.Where(u => !cache.TryGet(u.Shard, u.UserId, out _)).Distinct().GroupBy(u => u.Shard).ToList();
        var loads = missing.Select(async g =>
        {
            var ids = g.Select(u => u.UserId).ToList();
            return (Shard: g.Key, Ids: ids, Found: await store.LoadAsync(g.Key, ids, ct));
        }).ToList();
        foreach (var (shard, ids, found) in await Task.WhenAll(loads))
        {
            foreach (var id in ids)
            {
                if (found.TryGetValue(id, out var state))
                {
                    cache.Set(shard, state);
                }
                else
                {
                    cache.Set(shard, new UserState { UserId = id });
                    work.MarkNew(shard, id);
                }
            }
        }
    }

    /// <summary>Applies the parsed events in order. A record that makes a rule throw is dead-lettered; the rest go on.</summary>
    public void Apply(List<Parsed> parsed, BatchWork work)
    {
        var engine = engines.Current;
        var now = time.GetUtcNow();
        foreach (var p in parsed)
        {
            cache.TryGet(p.Shard, p.Event.UserId, out var state);
            try
            {
                var evaluation = engine.Apply(state, p.Event, p.Source, now);
                if (!evaluation.Applied)
                {
                    work.Count(p.Source.Topic, "duplicate");
                    continue;
                }
                work.Count(p.Source.Topic, "applied");
                work.MarkDirty(p.Shard, state);
                work.Add(p.Shard, evaluation, p.Parent);
                telemetry.Latency(now - p.Event.Timestamp);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.RuleFailed(logger, ex, p.Source.Topic, p.Source.Partition, p.Source.Offset);
                DeadLetter(work, p.Record, RejectReasons.RuleError, $"{ex.GetType().Name}: {ex.Message}");
                work.MarkDirty(p.Shard, state); // the watermark moved: the record is done, in the dead-letter topic
            }
        }
    }

    /// <summary>Fires due timers of the given users of one shard (already cached).</summary>
    public void FireTimers(string shard, IEnumerable<string> userIds, BatchWork work)
    {
        var engine = engines.Current;
        var now = time.GetUtcNow();
        foreach (var userId in userIds)
        {
            if (!cache.TryGet(shard, userId, out var state))
            {
                continue;
            }
            var due = state.NextDueAt;
            var evaluation = engine.FireDue(state, now);
            if (due is { } d && d <= now.ToUnixTimeMilliseconds())
            {
                telemetry.TimerFired(now - DateTimeOffset.FromUnixTimeMilliseconds(d));
            }
            // Always saved: even with nothing due, the user's entry in the timer index is re-scored exactly.
            state.ReindexTimers = true;
            work.MarkDirty(shard, state);
            work.Add(shard, evaluation, Activity.Current?.Context ?? default);
        }
    }

    /// <summary>
    /// Serialises the changed users of each shard, with the shard's outbound messages as its outbox: a
    /// snapshot that later changes cannot leak into.
    /// </summary>
    public IReadOnlyList<ShardWrite> PrepareSave(BatchWork work, Dictionary<string, List<Outbound>> outbound, Func<List<Outbound>, byte[]> encode,
        Func<string, long?> epochOf)
    {
        // Each user's decisions go with the user's state, for explain.
        var decisions = new Dictionary<(string Shard, string UserId), List<string>>();
        foreach (var (shard, d) in work.Decisions)
        {
            if (!decisions.TryGetValue((shard, d.UserId), out var lines))
            {
                decisions[(shard, d.UserId)] = lines = [];
            }
            lines.Add(JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions));
        }
        var writes = new List<ShardWrite>();
        foreach (var shard in work.Dirty.Keys.Union(outbound.Keys))
        {
            if (epochOf(shard) is not { } epoch)
            {
                continue; // not owned (revoked while the batch was in hand): the new owner redoes it
            }
            var users = work.Dirty.GetValueOrDefault(shard);
            writes.Add(store.Prepare(shard, epoch, users?.Values ?? (IReadOnlyCollection<UserState>)[],
                work.NewUsers.TryGetValue(shard, out var n) ? n : (IReadOnlyCollection<string>)[],
                users?.Keys.Where(u => decisions.ContainsKey((shard, u))).ToDictionary(u => u, u => decisions[(shard, u)], StringComparer.Ordinal),
                work.Counters.GetValueOrDefault(shard),
                outbound.TryGetValue(shard, out var messages) ? encode(messages) : null));
        }
        return writes;
    }

    /// <summary>
    /// Writes the prepared shards; safe to retry. Returns the shards written: a shard fenced off by a new
    /// owner is reported and left out, and its messages must not be produced.
    /// </summary>
    public async Task<HashSet<string>> SaveAsync(IReadOnlyList<ShardWrite> writes, CancellationToken ct)
    {
        var results = await Task.WhenAll(writes.Select(async w => (w.Shard, Written: await store.WriteAsync(w, ct))));
        foreach (var (shard, _) in results.Where(r => !r.Written))
        {
            Log.Fenced(logger, shard);
        }
        return results.Where(r => r.Written).Select(r => r.Shard).ToHashSet(StringComparer.Ordinal);
    }

    private void DeadLetter(BatchWork work, ConsumeResult<byte[]?, byte[]?> r, string reason, string message)
    {
        Log.DeadLettered(logger, r.Topic, r.Partition.Value, r.Offset.Value, reason, message);
        work.Count(r.Topic, "dead_lettered");
        work.DeadLetters.Add((RedisKeys.Shard(r.Topic, r.Partition.Value), DeadLetters.Create(r, reason, message), reason));
    }

    public UserStateStore Store => store;

    public RuleEngineProvider Engines => engines;

    public UserStateCache Cache => cache;
}
