using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>Configuration section <c>MicroMoments:LoadGen</c>.</summary>
public sealed class LoadGenOptions
{
    public const string SectionName = "MicroMoments:LoadGen";

    /// <summary>Events published per second (waves of personas with fresh user ids).</summary>
    public double EventsPerSecond { get; set; } = 50;
}

/// <summary>The <c>loadgen</c> command: publishes persona waves to the configured Kafka at a steady rate, until stopped.</summary>
public sealed class LoadGenerator(IOptions<KafkaOptions> kafka, IOptions<LoadGenOptions> load, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = kafka.Value;
        var topic = options.InputTopics.Count > 0 ? options.InputTopics[0] : KafkaOptions.DefaultInputTopic;
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.Producer(options, "micromoments-loadgen")).Build();
        var interval = TimeSpan.FromSeconds(1 / Math.Max(0.1, load.Value.EventsPerSecond));
        var next = time.GetUtcNow();
        for (var wave = 1; !stoppingToken.IsCancellationRequested; wave++)
        {
            // Timestamps follow the persona scripts; only the publishing is paced.
            foreach (var e in Personas.Wave(wave, time.GetUtcNow()).OrderBy(e => e.SendAfter))
            {
                next += interval;
                if (next - time.GetUtcNow() is { Ticks: > 0 } wait)
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                producer.Produce(topic, new Message<string, string> { Key = (string)e.Body["userId"]!, Value = e.Body.ToJsonString() });
            }
        }
        producer.Flush(TimeSpan.FromSeconds(10));
    }
}
