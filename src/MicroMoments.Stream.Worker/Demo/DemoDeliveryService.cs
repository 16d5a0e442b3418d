using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>
/// The demo's stand-in delivery service: reads the interventions topic and reports back to the clickstream what a
/// real one would (<see cref="DeliveryPlan"/>), no earlier than each command's <c>deliverAfter</c> on the worker's
/// clock, never past its <c>expiresAt</c>, and nothing for a command cancelled before it was delivered. It closes the
/// loop, so the demo's report and console show rates, experiment arms and pauses.
/// </summary>
public sealed class DemoDeliveryService(IOptions<KafkaOptions> kafka, TimeProvider time) : BackgroundService
{
    public const string GroupId = "micromoments-demo-delivery";

    /// <summary>One feedback event waiting for its time.</summary>
    public sealed record Pending(string InterventionId, string UserId, string RuleId, string Variant, string Event);

    private readonly PriorityQueue<Pending, DateTimeOffset> _due = new();
    private readonly HashSet<string> _cancelled = new(StringComparer.Ordinal);

    // Feedback still queued per intervention: a cancellation is remembered only while some is, so nothing grows.
    private readonly Dictionary<string, int> _queued = new(StringComparer.Ordinal);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        var options = kafka.Value;
        var config = KafkaClientConfigs.Consumer(options, GroupId);
        config.GroupId = GroupId;
        config.EnableAutoOffsetStore = true;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.RecordProducer(options, GroupId)).Build();
        consumer.Subscribe(options.OutputTopic);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message.Value: { } value })
                {
                    Receive(value);
                }
                foreach (var (p, at) in TakeDue(time.GetUtcNow()))
                {
                    producer.Produce(options.InputTopics[0], new Message<string, string> { Key = p.UserId, Value = Feedback(p, at) });
                }
            }
        }
        finally
        {
            producer.Flush(TimeSpan.FromSeconds(5));
            consumer.Close();
        }
    }

    /// <summary>Plans a command's feedback, or drops what is still pending of a cancelled one.</summary>
    public void Receive(byte[] value)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(value);
            root = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return; // not ours to judge: a real delivery service would dead-letter it
        }
        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || String(data, "interventionId") is not { } id || String(data, "userId") is not { } user || String(data, "ruleId") is not { } rule)
        {
            return;
        }
        switch (String(root, "type"))
        {
            case InterventionCancellation.EventType:
                if (_queued.ContainsKey(id))
                {
                    _cancelled.Add(id);
                }
                return;
            case InterventionCloudEvents.EventType:
                var now = time.GetUtcNow();
                var deliverAt = Time(data, "deliverAfter") is { } after && after > now ? after : now;
                var expiresAt = Time(data, "expiresAt") ?? DateTimeOffset.MaxValue;
                foreach (var step in DeliveryPlan.For(id, user, rule, String(data, "variant") ?? "control"))
                {
                    if (deliverAt + step.After <= expiresAt)
                    {
                        _due.Enqueue(new Pending(id, user, rule, String(data, "variant") ?? "control", step.Event), deliverAt + step.After);
                        _queued[id] = _queued.GetValueOrDefault(id) + 1;
                    }
                }
                return;
        }
    }

    /// <summary>The feedback due at <paramref name="now"/>, in due order, without the cancelled commands'.</summary>
    public List<(Pending Feedback, DateTimeOffset At)> TakeDue(DateTimeOffset now)
    {
        var due = new List<(Pending, DateTimeOffset)>();
        while (_due.TryPeek(out var p, out var at) && at <= now)
        {
            _due.Dequeue();
            if (!_cancelled.Contains(p.InterventionId))
            {
                due.Add((p, at));
            }
            if (--_queued[p.InterventionId] == 0)
            {
                _queued.Remove(p.InterventionId);
                _cancelled.Remove(p.InterventionId); // nothing left it could stop
            }
        }
        return due;
    }

    /// <summary>The feedback event, Segment-shaped as CONTRACT §1 has it; its messageId makes a re-sent one a duplicate.</summary>
    public static string Feedback(Pending p, DateTimeOffset at) => new JsonObject
    {
        ["type"] = "track",
        ["event"] = p.Event,
        ["userId"] = p.UserId,
        ["messageId"] = $"{p.InterventionId}:{p.Event}",
        ["timestamp"] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["properties"] = new JsonObject { ["interventionId"] = p.InterventionId, ["ruleId"] = p.RuleId, ["variant"] = p.Variant },
    }.ToJsonString();

    public int PendingCount => _due.Count;

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTimeOffset? Time(JsonElement e, string name) =>
        String(e, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}
