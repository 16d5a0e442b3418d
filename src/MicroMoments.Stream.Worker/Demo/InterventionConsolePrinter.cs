using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>Reads the intervention topic and prints each command and cancellation as one readable line on stdout.</summary>
public sealed class InterventionConsolePrinter(IOptions<KafkaOptions> kafka) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        var config = KafkaClientConfigs.Consumer(kafka.Value, "micromoments-demo-printer");
        config.GroupId = "micromoments-demo-printer";
        config.EnableAutoOffsetStore = true;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Subscribe(kafka.Value.OutputTopic);
        Console.Out.WriteLine("time      user            moment          channel  message");
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
                {
                    Console.Out.WriteLine(Format(r.Message.Value));
                }
            }
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>A command, or a cancellation (which withdraws a command printed earlier), as one line.</summary>
    public static string Format(byte[] value)
    {
        try
        {
            using var doc = JsonDocument.Parse(value);
            var root = doc.RootElement;
            if (root.TryGetProperty("type", out var type) && type.ValueEquals(InterventionCancellation.EventType))
            {
                var data = root.GetProperty("data");
                var at = root.TryGetProperty("time", out var t) && t.TryGetDateTimeOffset(out var time) ? time : default;
                return $"{at:HH:mm:ss}  {data.GetProperty("userId").GetString(),-15} cancelled: {data.GetProperty("interventionId").GetString()} " +
                    $"({data.GetProperty("reason").GetString()})  [{data.GetProperty("ruleId").GetString()}]";
            }
            return Format(InterventionCloudEvents.Decode(value));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            return $"(a record the printer cannot read: {ex.Message})";
        }
    }

    public static string Format(InterventionCommand c)
    {
        var title = string.IsNullOrEmpty(c.Message.Title) ? "" : $"\"{c.Message.Title}\" ";
        var deferred = c.DeliverAfter - c.DecidedAt > TimeSpan.FromSeconds(5) ? $" (deliver after {c.DeliverAfter:yyyy-MM-dd HH:mm} UTC)" : "";
        return $"{c.DecidedAt:HH:mm:ss}  {c.UserId,-15} {c.Moment,-15} {c.Channel,-8} {title}{c.Message.Body}  [{c.RuleId}]{deferred}";
    }
}
