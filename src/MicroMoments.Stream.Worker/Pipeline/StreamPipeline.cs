using System.Diagnostics;
using System.Text;
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

    /// <summary>Batches at least this large are parsed, and their users serialised, on every core.</summary>
    private const int ParallelFrom = 1024;

    // Reused from batch to batch: at 5,000 records each is over the 85 kB large-object threshold, and large
    // objects are only reclaimed by full collections, which a new set per batch would trigger every few batches.
    private ParseResult[] _results = [];
    private RecordSource[] _sources = [];
    private readonly List<Parsed> _parsed = [];

    /// <summary>Parses a batch. The list returned is reused: <see cref="Apply"/> empties it, and the next call fills it again.</summary>
    public List<Parsed> Parse(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, BatchWork work)
    {
        var now = time.GetUtcNow();
        if (_results.Length < batch.Count)
        {
            _results = new ParseResult[batch.Count];
            _sources = new RecordSource[batch.Count];
        }
        // Parsing is pure: the records are parsed side by side, then taken in order.
        var (results, sources) = (_results, _sources);
        void ParseRange(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var r = batch[i];
                sources[i] = new RecordSource(r.Topic, r.Partition.Value, r.Offset.Value, r.Message.Timestamp.UtcDateTime);
                results[i] = r.Message.Value is null
                    ? ParseResult.Reject(RejectReasons.MalformedJson, "the record has no value")
                    : parser.ParseWithUtf8Key(r.Message.Value, r.Message.Key, sources[i], now);
            }
        }
        if (batch.Count >= ParallelFrom)
        {
            var chunk = (batch.Count + Environment.ProcessorCount - 1) / Environment.ProcessorCount;
            Parallel.For(0, Environment.ProcessorCount, c => ParseRange(c * chunk, Math.Min(batch.Count, (c + 1) * chunk)));
        }
        else
        {
            ParseRange(0, batch.Count);
        }

        var parsed = _parsed;
        parsed.Clear();
        var unknownZones = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var (r, result) = (batch[i], results[i]);
            results[i] = default; // the event now lives in the list only
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
            if (result.Event!.UnknownTimezone)
            {
                unknownZones++;
            }
            parsed.Add(new Parsed(result.Event!, sources[i], ShardOf(r.Topic, r.Partition.Value), parent, r));
        }
        if (unknownZones > 0)
        {
            telemetry.UnknownTimezone(unknownZones);
        }
        return parsed;
    }

    private readonly Dictionary<(string Topic, int Partition), string> _shards = [];

    /// <summary>The shard name of a partition: one string per partition, not one per record.</summary>
    private string ShardOf(string topic, int partition)
    {
        if (!_shards.TryGetValue((topic, partition), out var shard))
        {
            _shards[(topic, partition)] = shard = RedisKeys.Shard(topic, partition);
        }
        return shard;
    }

    /// <summary>Loads every user of the batch that is not cached, one round trip per shard; safe to retry.</summary>
    public async Task LoadAsync(IEnumerable<(string Shard, string UserId)> users, BatchWork work, CancellationToken ct)
    {
        var missing = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (shard, userId) in users)
        {
            if (!cache.TryGet(shard, userId, out _))
            {
                if (!missing.TryGetValue(shard, out var ids))
                {
                    missing[shard] = ids = new HashSet<string>(StringComparer.Ordinal);
                }
                ids.Add(userId);
            }
        }
        if (missing.Count == 0)
        {
            return;
        }
        var loads = missing.Select(async m => (Shard: m.Key, Ids: m.Value, Found: await store.LoadAsync(m.Key, m.Value, ct))).ToList();
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

    /// <summary>The previous users named by the batch's alias calls: where their state is, and whether this instance owns it.</summary>
    private readonly Dictionary<string, (string Shard, UserState State, bool Owned)> _aliased = new(StringComparer.Ordinal);

    /// <summary>The previous ids named by the batch's alias calls that have no state anywhere: counted as merging nothing.</summary>
    private readonly HashSet<string> _aliasedNotFound = new(StringComparer.Ordinal);

    /// <summary>
    /// Finds the state of each previous id named by an alias in the batch, wherever its partition is: in the cache
    /// (an owned shard), else through the user index. Returns the owned shards found, whose epochs the batch needs
    /// to write their tombstones. A previous user on a shard another instance owns is read, not written: its
    /// history merges, its timers stay where they are (they fire there, once), and its state is not tombstoned.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> LoadAliasedAsync(List<Parsed> parsed, Func<string, bool> owns, CancellationToken ct)
    {
        _aliased.Clear();
        _aliasedNotFound.Clear();
        foreach (var p in parsed)
        {
            if (p.Event.PreviousId is not { } previous || previous == p.Event.UserId || _aliased.ContainsKey(previous))
            {
                continue;
            }
            if (cache.TryFind(previous, out var cachedShard, out var cached))
            {
                _aliased[previous] = (cachedShard, cached, true);
                continue;
            }
            if (await store.ShardOfAsync(previous, ct) is not { } shard
                || (await store.LoadAsync(shard, [previous], ct)).GetValueOrDefault(previous) is not { } state)
            {
                _aliasedNotFound.Add(previous); // an alias for an id never seen: nothing to merge
                continue;
            }
            var owned = owns(shard);
            if (owned)
            {
                cache.Set(shard, state);
            }
            else
            {
                state.Timers = null;
            }
            _aliased[previous] = (shard, state, owned);
        }
        return _aliased.Values.Where(a => a.Owned).Select(a => a.Shard).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Applies the parsed events in order, then empties the list (its events are no longer needed, and should not
    /// outlive the batch). A record that makes a rule throw is dead-lettered; the rest go on.
    /// </summary>
    public void Apply(List<Parsed> parsed, BatchWork work)
    {
        var engine = engines.Current;
        var now = time.GetUtcNow();
        // Outcomes are counted per run of one topic, not looked up per event.
        string? topic = null;
        int applied = 0, duplicates = 0;
        void Flush()
        {
            if (topic is not null)
            {
                work.Count(topic, "applied", applied);
                work.Count(topic, "duplicate", duplicates);
            }
            (applied, duplicates) = (0, 0);
        }
        foreach (var p in parsed)
        {
            if (!ReferenceEquals(topic, p.Source.Topic))
            {
                Flush();
                topic = p.Source.Topic;
            }
            cache.TryGet(p.Shard, p.Event.UserId, out var state);
            try
            {
                var evaluation = engine.Apply(state, p.Event, p.Source, now);
                if (!evaluation.Applied)
                {
                    duplicates++;
                    continue;
                }
                applied++;
                if (p.Event.PreviousId is { } previous && _aliased.Remove(previous, out var aliased) && !ReferenceEquals(aliased.State, state))
                {
                    var alias = engine.MergeAlias(state, aliased.State);
                    if (alias.Tombstone is null)
                    {
                        Log.AliasNotMerged(logger, previous, p.Event.UserId, alias.Outcome, p.Source.Topic, p.Source.Partition, p.Source.Offset);
                    }
                    else if (aliased.Owned)
                    {
                        cache.Replace(aliased.Shard, alias.Tombstone);
                        work.MarkDirty(aliased.Shard, alias.Tombstone);
                    }
                    telemetry.Alias(alias.Outcome);
                }
                else if (p.Event.PreviousId is { } unknown && _aliasedNotFound.Contains(unknown))
                {
                    Log.AliasNotMerged(logger, unknown, p.Event.UserId, UserMerge.NotFound, p.Source.Topic, p.Source.Partition, p.Source.Offset);
                    telemetry.Alias(UserMerge.NotFound);
                }
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
        Flush();
        parsed.Clear();
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
            Evaluation evaluation;
            try
            {
                evaluation = engine.FireDue(state, now);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One user's timer must not stop the loop, nor throw again at every check: its due timers are dropped.
                Log.TimerFailed(logger, ex, shard, userId);
                telemetry.TimerError();
                Timers.TakeDue(state, now.ToUnixTimeMilliseconds());
                state.ReindexTimers = true;
                work.MarkDirty(shard, state);
                continue;
            }
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
        Dictionary<(string Shard, string UserId), List<Decision>>? decisions = null;
        foreach (var (shard, d) in work.Decisions)
        {
            decisions ??= [];
            if (!decisions.TryGetValue((shard, d.UserId), out var list))
            {
                decisions[(shard, d.UserId)] = list = [];
            }
            list.Add(d);
        }
        var shards = new List<(string Shard, long Epoch, Dictionary<string, UserState>? Users)>(work.Dirty.Count);
        foreach (var shard in work.Dirty.Keys.Union(outbound.Keys))
        {
            // A shard not owned (revoked while the batch was in hand) is left out: the new owner redoes it.
            if (epochOf(shard) is { } epoch)
            {
                shards.Add((shard, epoch, work.Dirty.GetValueOrDefault(shard)));
            }
        }
        // Shards hold different users, so they are serialised side by side.
        var writes = new ShardWrite[shards.Count];
        void Prepare(int i)
        {
            var (shard, epoch, users) = shards[i];
            Dictionary<string, List<string>>? shardDecisions = null;
            if (decisions is not null && users is not null)
            {
                foreach (var userId in users.Keys)
                {
                    if (decisions.TryGetValue((shard, userId), out var list))
                    {
                        (shardDecisions ??= new Dictionary<string, List<string>>(StringComparer.Ordinal))[userId] = list.ConvertAll(DecisionJson.Serialize);
                    }
                }
            }
            writes[i] = store.Prepare(shard, epoch, users?.Values ?? (IReadOnlyCollection<UserState>)[],
                work.NewUsers.TryGetValue(shard, out var n) ? n : (IReadOnlyCollection<string>)[],
                shardDecisions ?? NoDecisions, work.Counters.GetValueOrDefault(shard),
                outbound.TryGetValue(shard, out var messages) ? encode(messages) : null);
        }
        if (work.Dirty.Sum(d => d.Value.Count) >= ParallelFrom / 2)
        {
            Parallel.For(0, shards.Count, Prepare);
        }
        else
        {
            for (var i = 0; i < shards.Count; i++)
            {
                Prepare(i);
            }
        }
        return writes;
    }

    private static readonly Dictionary<string, List<string>> NoDecisions = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes the prepared shards; safe to retry. Returns the shards written: a shard fenced off by a new
    /// owner is reported and left out, and its messages must not be produced.
    /// </summary>
    public async Task<HashSet<string>> SaveAsync(IReadOnlyList<ShardWrite> writes, CancellationToken ct)
    {
        var results = await Task.WhenAll(writes.Select(async w => (w.Shard, Written: await store.WriteAsync(w, ct, (userId, other) => SplitFound(userId, w.Shard, other)))));
        foreach (var (shard, _) in results.Where(r => !r.Written))
        {
            Log.Fenced(logger, shard);
        }
        return results.Where(r => r.Written).Select(r => r.Shard).ToHashSet(StringComparer.Ordinal);
    }

    private readonly SplitUserWarnings _splitUsers = new(SplitUserWarnings.DefaultCapacity);

    // The producers put one user on two partitions: two states, and caps and cooldowns no longer hold across them. Each
    // partition keeps its own state (merging would need both owners, and the mistake is the producer's to fix), loudly.
    private void SplitFound(string userId, string shard, string other)
    {
        if (_splitUsers.ShouldWarn(userId))
        {
            telemetry.SplitUser();
            Log.UserSplitAcrossPartitions(logger, userId, shard, other);
        }
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
