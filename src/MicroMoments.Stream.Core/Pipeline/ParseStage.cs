using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Stage 2, parse: turns consumed records into events in order; a record that does not parse becomes a dead letter.
/// </summary>
/// <remarks><c>shardOf</c> names a partition's shard (the state store's naming).</remarks>
public sealed class ParseStage(ClickEventParser parser, Func<string, int, string> shardOf, IPipelineEvents events)
{
    /// <summary>Batches at least this large are parsed on every core.</summary>
    public const int ParallelFrom = 1024;

    // Reused from batch to batch: at 5,000 records each is over the 85 kB large-object threshold, and large
    // objects are only reclaimed by full collections, which a new set per batch would trigger every few batches.
    private ParseResult[] _results = [];
    private RecordSource[] _sources = [];
    private readonly List<ParsedRecord> _parsed = [];
    private readonly Dictionary<(string Topic, int Partition), string> _shards = [];

    /// <summary>Parses a batch. The list returned is reused: the decide stage empties it, and the next call fills it again.</summary>
    public List<ParsedRecord> Parse(IReadOnlyList<SourceRecord> batch, BatchWork work, DateTimeOffset now)
    {
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
                sources[i] = new RecordSource(r.Topic, r.Partition, r.Offset, r.Timestamp);
                results[i] = r.Value is null
                    ? ParseResult.Reject(RejectReasons.MalformedJson, "the record has no value")
                    : parser.ParseWithUtf8Key(r.Value, r.Key, sources[i], now);
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
                events.DeadLettered(work.Reject(ShardOf(r.Topic, r.Partition), r, result.Reason!, result.Error!));
                continue;
            }
            var parent = default(ActivityContext);
            if (r.LastHeader("traceparent") is { } tp)
            {
                ActivityContext.TryParse(Encoding.UTF8.GetString(tp), null, isRemote: true, out parent);
            }
            if (result.Event!.UnknownTimezone)
            {
                unknownZones++;
            }
            parsed.Add(new ParsedRecord(result.Event!, sources[i], ShardOf(r.Topic, r.Partition), parent, r));
        }
        if (unknownZones > 0)
        {
            events.UnknownTimezones(unknownZones);
        }
        return parsed;
    }

    /// <summary>The shard name of a partition: one string per partition, not one per record.</summary>
    private string ShardOf(string topic, int partition)
    {
        if (!_shards.TryGetValue((topic, partition), out var shard))
        {
            _shards[(topic, partition)] = shard = shardOf(topic, partition);
        }
        return shard;
    }
}
