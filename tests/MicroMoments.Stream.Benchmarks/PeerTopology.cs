using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// The peer: the seed's two headline rules (<c>setup-task-failing</c>, <c>cart-abandoned</c>) as a Kafka Streams
/// topology in Streamiz.Kafka.Net: source → one transformer over a persistent RocksDB store → sink. The cart's absence
/// is timed by a stream-time punctuator, so it follows the events' own timestamps (the record timestamps, which the
/// benchmark sets to the events' <c>timestamp</c>). One JSON record per command on the output topic (<see cref="PeerCommand"/>).
/// </summary>
public static class PeerTopology
{
    /// <summary>The one state store: a RocksDB key-value store whose keys carry a prefix per kind of entry (<see cref="HeadlineRulesTransformer"/>).</summary>
    public const string StoreName = "peer-rules";

    /// <summary>How far stream time moves between two runs of the cart punctuator: a cart fires at most this late, in event time.</summary>
    public static readonly TimeSpan Punctuation = TimeSpan.FromSeconds(1);

    /// <summary>The changelog topic Streamiz writes the store to; the mock broker cannot create it, so the caller does.</summary>
    public static string ChangelogTopic(string applicationId) => $"{applicationId}-{StoreName}-changelog";

    public static Topology Build(string input, string output, PeerCounters counters)
    {
        var builder = new StreamBuilder();
        builder.Stream(input, new StringSerDes(), new ByteArraySerDes())
            .Transform(TransformerBuilder.New<string, byte[], string, string>()
                .Transformer<HeadlineRulesTransformer>(counters)
                .StateStore(Stores.KeyValueStoreBuilder(Stores.PersistentKeyValueStore(StoreName), new StringSerDes(), new StringSerDes()))
                .Build())
            .To(output, new StringSerDes(), new StringSerDes());
        return builder.Build();
    }

    /// <summary>
    /// At-least-once, reading from the earliest offset (Streamiz starts at the latest otherwise), one stream thread (Kafka
    /// Streams' default), and the worker's client settings where Streamiz has the knob: a commit every second (the worker's
    /// auto-commit interval), 10 ms fetch wait, no linger (the worker's since issue 20; it was 2 ms for both before).
    /// </summary>
    public static StreamConfig<StringSerDes, ByteArraySerDes> Config(string bootstrapServers, string applicationId, string stateDir) => new()
    {
        ApplicationId = applicationId,
        BootstrapServers = bootstrapServers,
        Guarantee = ProcessingGuarantee.AT_LEAST_ONCE,
        CommitIntervalMs = 1000,
        AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
        NumStreamThreads = 1,
        StateDir = stateDir,
        FetchWaitMaxMs = 10,
        LingerMs = 0,
        Logger = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning).AddConsole()),
    };
}

/// <summary>What the peer's instances did, summed over their tasks (one transformer per input partition).</summary>
public sealed class PeerCounters
{
    private long _processed;
    private long _commands;
    private long _suppressed;

    public long Processed => Interlocked.Read(ref _processed);
    public long Commands => Interlocked.Read(ref _commands);

    /// <summary>Triggers dropped by the rule's cooldown.</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    internal void OnProcessed() => Interlocked.Increment(ref _processed);
    internal void OnCommand() => Interlocked.Increment(ref _commands);
    internal void OnSuppressed() => Interlocked.Increment(ref _suppressed);
}

/// <summary>A command as the peer writes it (and as the benchmark reads both sides' commands for comparison).</summary>
public sealed record PeerCommand(string UserId, string RuleId, string TriggerEventId, DateTimeOffset TriggerAt);

/// <summary>
/// The two rules over one RocksDB store, keyed by prefix (Streamiz gives a transformer one store builder):
/// <list type="bullet">
/// <item><c>f␟user␟task</c>: the failed tasks' hits in the 10-minute window, <c>ms:messageId</c> joined by <c>;</c>;</item>
/// <item><c>c␟user␟cartId</c>: the open cart, <c>dueMs␟startMs␟messageId</c> of its latest <c>Product Added</c>;</item>
/// <item><c>d␟dueMs␟user␟cartId</c>: the same cart by due time (zero-padded, so the punctuator's range scan is in due order);</item>
/// <item><c>k␟user␟ruleId</c>: the trigger time of the rule's last command for the user, for the cooldown.</item>
/// </list>
/// The semantics are the worker's for events in timestamp order (docs/rules.md): a count window drops hits stamped at or
/// before <c>within</c> before the new one and starts over when it fires; a cart's <c>Product Added</c> re-arms it, an
/// <c>Order Completed</c> of the same cart stamped at or after its start and before its due time ends it; a rule's
/// command within its <c>cooldown</c> after the last one is dropped. Unlike the worker it keeps no lateness: it takes
/// the events in the order they come.
/// </summary>
public sealed class HeadlineRulesTransformer : ITransformer<string, byte[], string, string>
{
    public const string CountRule = "setup-task-failing";
    public const string CartRule = "cart-abandoned";
    private const char Sep = '\u001f';
    private const int Times = 3;
    private static readonly long WindowMs = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
    private static readonly long CartMs = (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
    private static readonly long CountCooldownMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;
    private static readonly long CartCooldownMs = (long)TimeSpan.FromHours(24).TotalMilliseconds;

    private readonly PeerCounters _counters;
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private ProcessorContext<string, string> _context = null!;
    private IKeyValueStore<string, string> _store = null!;

    /// <summary>Streamiz's builder needs a parameterless constructor; each task's instance is made with the other.</summary>
    public HeadlineRulesTransformer() : this(new PeerCounters())
    {
    }

    public HeadlineRulesTransformer(PeerCounters counters) => _counters = counters;

    public void Init(ProcessorContext<string, string> context)
    {
        _context = context;
        _store = (IKeyValueStore<string, string>)context.GetStateStore(PeerTopology.StoreName);
        context.Schedule(PeerTopology.Punctuation, PunctuationType.STREAM_TIME, FireDueCarts);
    }

    public Record<string, string>? Process(Record<string, byte[]> record)
    {
        if (SegmentFields.Read(record.Value) is { } e)
        {
            switch (e.Event)
            {
                case "Task Failed":
                    TaskFailed(e);
                    break;
                case "Product Added":
                    ProductAdded(e);
                    break;
                case "Order Completed":
                    OrderCompleted(e);
                    break;
            }
        }
        _counters.OnProcessed();
        return null; // commands are forwarded as they fire
    }

    public void Close()
    {
    }

    private void TaskFailed(SegmentFields e)
    {
        var key = Key('f', e.UserId, e.Task ?? "");
        var hits = new List<(long At, string Id)>(Times);
        if (_store.Get(key) is { Length: > 0 } kept)
        {
            foreach (var hit in kept.Split(';'))
            {
                var colon = hit.IndexOf(':', StringComparison.Ordinal);
                var at = long.Parse(hit.AsSpan(0, colon), CultureInfo.InvariantCulture);
                if (at > e.At - WindowMs)
                {
                    hits.Add((at, hit[(colon + 1)..]));
                }
            }
        }
        hits.Add((e.At, e.MessageId));
        if (hits.Count >= Times)
        {
            _store.Delete(key);
            Fire(e.UserId, CountRule, e.MessageId, e.At, CountCooldownMs);
            return;
        }
        _store.Put(key, string.Join(';', hits.Select(h => h.At.ToString(CultureInfo.InvariantCulture) + ":" + h.Id)));
    }

    private void ProductAdded(SegmentFields e)
    {
        var key = Key('c', e.UserId, e.CartId ?? "");
        if (OpenCart(key) is { } open)
        {
            _store.Delete(DueKey(open.DueAt, e.UserId, e.CartId ?? ""));
            if (open.DueAt <= e.At)
            {
                // Its five minutes ended before this event: abandoned, whether or not a punctuation ran since.
                Fire(e.UserId, CartRule, open.MessageId, open.DueAt, CartCooldownMs);
            }
        }
        var due = e.At + CartMs;
        _store.Put(key, string.Join(Sep, due.ToString(CultureInfo.InvariantCulture), e.At.ToString(CultureInfo.InvariantCulture), e.MessageId));
        _store.Put(DueKey(due, e.UserId, e.CartId ?? ""), "");
    }

    private void OrderCompleted(SegmentFields e)
    {
        var key = Key('c', e.UserId, e.CartId ?? "");
        if (OpenCart(key) is not { } open || open.StartedAt > e.At)
        {
            return; // no cart, or one started after this order: the order does not follow it
        }
        _store.Delete(key);
        _store.Delete(DueKey(open.DueAt, e.UserId, e.CartId ?? ""));
        if (open.DueAt <= e.At)
        {
            Fire(e.UserId, CartRule, open.MessageId, open.DueAt, CartCooldownMs); // the order came after the five minutes
        }
    }

    /// <summary>The punctuator: every cart whose due time stream time has reached, in due order.</summary>
    private void FireDueCarts(long streamTime)
    {
        var from = $"d{Sep}";
        var to = $"d{Sep}{streamTime:D15}{(char)(Sep + 1)}"; // past every key of that due time: the separator sorts below
        List<string>? due = null;
        using (var range = _store.Range(from, to))
        {
            while (range.MoveNext())
            {
                (due ??= []).Add(range.Current!.Value.Key);
            }
        }
        foreach (var dueKey in due ?? [])
        {
            _store.Delete(dueKey);
            var parts = dueKey.Split(Sep);
            var key = Key('c', parts[2], parts[3]);
            if (OpenCart(key) is { } open && open.DueAt.ToString("D15", CultureInfo.InvariantCulture) == parts[1])
            {
                _store.Delete(key);
                Fire(parts[2], CartRule, open.MessageId, open.DueAt, CartCooldownMs);
            }
        }
    }

    private (long DueAt, long StartedAt, string MessageId)? OpenCart(string key)
    {
        if (_store.Get(key) is not { Length: > 0 } value)
        {
            return null;
        }
        var parts = value.Split(Sep);
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture), parts[2]);
    }

    /// <summary>Forwards the command unless the rule's last command for the user is less than its cooldown before this trigger.</summary>
    private void Fire(string userId, string ruleId, string triggerEventId, long triggerAt, long cooldownMs)
    {
        var key = Key('k', userId, ruleId);
        if (_store.Get(key) is { Length: > 0 } last && triggerAt - long.Parse(last, CultureInfo.InvariantCulture) < cooldownMs)
        {
            _counters.OnSuppressed();
            return;
        }
        _store.Put(key, triggerAt.ToString(CultureInfo.InvariantCulture));
        _buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteString("userId"u8, userId);
            w.WriteString("ruleId"u8, ruleId);
            w.WriteString("triggerEventId"u8, triggerEventId);
            w.WriteString("triggerAt"u8, DateTimeOffset.FromUnixTimeMilliseconds(triggerAt));
            w.WriteEndObject();
        }
        _counters.OnCommand();
        _context.Forward(userId, System.Text.Encoding.UTF8.GetString(_buffer.WrittenSpan));
    }

    private static string Key(char kind, string userId, string value) => string.Concat(kind.ToString(), Sep.ToString(), userId, Sep.ToString(), value);

    private static string DueKey(long dueAt, string userId, string cartId) =>
        string.Join(Sep, "d", dueAt.ToString("D15", CultureInfo.InvariantCulture), userId, cartId);
}

/// <summary>The fields of a Segment-style event the two rules read; null for a body that is not a JSON object with them.</summary>
internal sealed record SegmentFields(string Event, string UserId, string MessageId, long At, string? Task, string? CartId)
{
    public static SegmentFields? Read(byte[]? body)
    {
        if (body is null)
        {
            return null;
        }
        string? name = null, user = null, id = null, task = null, cart = null;
        long at = -1;
        var r = new Utf8JsonReader(body);
        try
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("properties"u8))
                {
                    r.Read();
                    if (r.TokenType != JsonTokenType.StartObject)
                    {
                        r.Skip();
                        continue;
                    }
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        var isTask = r.ValueTextEquals("task"u8);
                        var isCart = r.ValueTextEquals("cartId"u8);
                        r.Read();
                        if (r.TokenType == JsonTokenType.String && (isTask || isCart))
                        {
                            (isTask ? ref task : ref cart) = r.GetString();
                        }
                        else
                        {
                            r.Skip();
                        }
                    }
                    continue;
                }
                var field = r.ValueTextEquals("event"u8) ? 1 : r.ValueTextEquals("userId"u8) ? 2 : r.ValueTextEquals("messageId"u8) ? 3 : r.ValueTextEquals("timestamp"u8) ? 4 : 0;
                r.Read();
                if (field == 0 || r.TokenType != JsonTokenType.String)
                {
                    r.Skip();
                    continue;
                }
                switch (field)
                {
                    case 1: name = r.GetString(); break;
                    case 2: user = r.GetString(); break;
                    case 3: id = r.GetString(); break;
                    default: at = r.GetDateTimeOffset().ToUnixTimeMilliseconds(); break;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
        return name is null || user is null || id is null || at < 0 ? null : new SegmentFields(name, user, id, at, task, cart);
    }
}
