using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Turns a batch's commands, decisions and dead letters into Kafka messages, per shard (each shard's go into its
/// outbox). Each command gets a "publish intervention" span under the trace of the event that caused it.
/// </summary>
public sealed class OutboundBuilder(IOptions<KafkaOptions> options, ActivitySource source)
{
    private static readonly byte[] CloudEventContentType = Encoding.UTF8.GetBytes(InterventionCloudEvents.ContentType);
    private static readonly JsonSerializerOptions DecisionJson = InterventionCloudEvents.DataOptions;
    private readonly KafkaOptions _options = options.Value;

    /// <summary>The messages of a batch, grouped by the shard whose state they come from.</summary>
    public Dictionary<string, List<Outbound>> Build(BatchWork work)
    {
        var byShard = new Dictionary<string, List<Outbound>>(StringComparer.Ordinal);
        List<Outbound> Of(string shard) => byShard.TryGetValue(shard, out var list) ? list : byShard[shard] = [];
        foreach (var (shard, command, cancellation, parent) in work.Messages())
        {
            if (command is null)
            {
                Of(shard).Add(WithinBudget(Cancellation(cancellation!, parent), cancellation!.DecidedAt));
                continue;
            }
            using var activity = source.StartActivity("publish intervention", ActivityKind.Producer, parent);
            activity?.SetTag("messaging.destination.name", _options.OutputTopic);
            activity?.SetTag("micromoments.rule", command.RuleId);
            activity?.SetTag("micromoments.intervention_id", command.InterventionId);
            var outbound = WithinBudget(new Outbound(_options.OutputTopic, new Message<byte[]?, byte[]?>
            {
                Key = Encoding.UTF8.GetBytes(command.UserId),
                Value = InterventionCloudEvents.Encode(command),
                Headers = Headers(activity, parent),
            }, command.InterventionId, command), command.DecidedAt);
            if (outbound.DeadLetterReason is not null)
            {
                NotSent(work, shard, command.InterventionId);
            }
            Of(shard).Add(outbound);
        }
        if (!string.IsNullOrEmpty(_options.DecisionTopic))
        {
            foreach (var (shard, decision) in work.Decisions)
            {
                Of(shard).Add(new Outbound(_options.DecisionTopic, new Message<byte[]?, byte[]?>
                {
                    Key = Encoding.UTF8.GetBytes(decision.UserId),
                    Value = JsonSerializer.SerializeToUtf8Bytes(decision, DecisionJson),
                }, null));
            }
        }
        foreach (var rejected in work.DeadLetters)
        {
            Of(rejected.Shard).Add(new Outbound(_options.DeadLetterTopic, DeadLetters.Create(rejected.Record, rejected.Reason, rejected.Message), null,
                DeadLetterReason: rejected.Reason));
        }
        return byShard;
    }

    /// <summary>
    /// The message, or its dead letter (<see cref="ProduceRefusals.CommandTooLarge"/>) when its value is over
    /// <see cref="CommandSizeBudget.MaxValueBytes"/> even after the encoder cut what it may: only the ids it must keep
    /// (a user id from before the id limit, in a timer) can make it so. Decided here, not by the broker's limit, so
    /// every broker sees the same commands.
    /// </summary>
    private Outbound WithinBudget(Outbound message, DateTimeOffset decidedAt)
    {
        var length = message.Message.Value?.Length ?? 0;
        return length <= CommandSizeBudget.MaxValueBytes
            ? message
            : new Outbound(_options.DeadLetterTopic, DeadLetters.ForRefused(message.Topic, message.Message, ProduceRefusals.CommandTooLarge,
                $"the value is {length} bytes; the budget is {CommandSizeBudget.MaxValueBytes}", decidedAt), null,
                DeadLetterReason: ProduceRefusals.CommandTooLarge);
    }

    /// <summary>
    /// A command dead-lettered here was never sent: its pending delivery goes from the user's state (built before the state is
    /// serialised), so no later <c>cancelOn</c> event or pause withdraws it with a cancellation.
    /// </summary>
    private static void NotSent(BatchWork work, string shard, string interventionId)
    {
        foreach (var state in work.Dirty.GetValueOrDefault(shard)?.Values ?? Enumerable.Empty<Core.State.UserState>())
        {
            state.PendingDeliveries?.RemoveAll(p => p.InterventionId == interventionId);
            if (state.PendingDeliveries is { Count: 0 })
            {
                state.PendingDeliveries = null;
            }
        }
    }

    /// <summary>Keyed and covered by the outbox as a command is: its id is checked on recovery, so it is never produced twice.</summary>
    private Outbound Cancellation(InterventionCancellation cancellation, ActivityContext parent)
    {
        using var activity = source.StartActivity("publish cancellation", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.destination.name", _options.OutputTopic);
        activity?.SetTag("micromoments.rule", cancellation.RuleId);
        activity?.SetTag("micromoments.intervention_id", cancellation.InterventionId);
        return new Outbound(_options.OutputTopic, new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes(cancellation.UserId),
            Value = cancellation.Encode(),
            Headers = Headers(activity, parent),
        }, cancellation.Id);
    }

    /// <summary>The CloudEvent content type and a <c>traceparent</c> under the triggering event's trace.</summary>
    private static Headers Headers(Activity? activity, ActivityContext parent)
    {
        var headers = new Headers { { "content-type", CloudEventContentType } };
        var traceparent = activity?.Id ?? (parent != default ? TraceParent(parent) : null);
        if (traceparent is not null)
        {
            headers.Add("traceparent", Encoding.UTF8.GetBytes(traceparent));
        }
        return headers;
    }

    private static string TraceParent(ActivityContext c) =>
        $"00-{c.TraceId.ToHexString()}-{c.SpanId.ToHexString()}-{((c.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}
