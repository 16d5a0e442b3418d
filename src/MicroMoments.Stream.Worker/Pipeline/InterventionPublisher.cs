using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Produces a batch's commands, decisions and dead letters and waits until Kafka acknowledges every one.</summary>
public sealed class InterventionPublisher(IProducer<byte[]?, byte[]?> producer, IOptions<KafkaOptions> options, PipelineTelemetry telemetry)
{
    private static readonly byte[] CloudEventContentType = Encoding.UTF8.GetBytes(InterventionCloudEvents.ContentType);
    private static readonly JsonSerializerOptions DecisionJson = InterventionCloudEvents.DataOptions;
    private readonly KafkaOptions _options = options.Value;

    public async Task PublishAsync(BatchWork work)
    {
        // Counted whether or not anything is produced: a batch of suppressions alone still has decisions.
        telemetry.RuleOutcomes(work);
        foreach (var decision in work.Decisions)
        {
            telemetry.Decided(decision);
        }
        if (work.Interventions.Count == 0 && work.DeadLetters.Count == 0 && (work.Decisions.Count == 0 || string.IsNullOrEmpty(_options.DecisionTopic)))
        {
            return;
        }
        var acks = new List<Task>(work.Interventions.Count + work.Decisions.Count + work.DeadLetters.Count);
        foreach (var (command, parent) in work.Interventions)
        {
            using var activity = PipelineTelemetry.Source.StartActivity("publish intervention", ActivityKind.Producer, parent);
            activity?.SetTag("messaging.destination.name", _options.OutputTopic);
            activity?.SetTag("micromoments.rule", command.RuleId);
            activity?.SetTag("micromoments.intervention_id", command.InterventionId);
            var headers = new Headers { { "content-type", CloudEventContentType } };
            var traceparent = activity?.Id ?? (parent != default ? TraceParent(parent) : null);
            if (traceparent is not null)
            {
                headers.Add("traceparent", Encoding.UTF8.GetBytes(traceparent));
            }
            acks.Add(producer.ProduceAsync(_options.OutputTopic, new Message<byte[]?, byte[]?>
            {
                Key = Encoding.UTF8.GetBytes(command.UserId),
                Value = InterventionCloudEvents.Encode(command),
                Headers = headers,
            }));
            telemetry.Emitted(command);
        }
        if (!string.IsNullOrEmpty(_options.DecisionTopic))
        {
            foreach (var decision in work.Decisions)
            {
                acks.Add(producer.ProduceAsync(_options.DecisionTopic, new Message<byte[]?, byte[]?>
                {
                    Key = Encoding.UTF8.GetBytes(decision.UserId),
                    Value = JsonSerializer.SerializeToUtf8Bytes(decision, DecisionJson),
                }));
            }
        }
        foreach (var (message, reason) in work.DeadLetters)
        {
            acks.Add(producer.ProduceAsync(_options.DeadLetterTopic, message));
            telemetry.DeadLetter(reason);
        }
        // Offsets are stored only after this returns: every command is in the log before its input is done.
        await Task.WhenAll(acks);
    }

    private static string TraceParent(ActivityContext c) =>
        $"00-{c.TraceId.ToHexString()}-{c.SpanId.ToHexString()}-{((c.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}
