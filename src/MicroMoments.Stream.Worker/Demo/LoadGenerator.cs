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

    /// <summary>Most records any partition may be ahead of the worker group's committed offsets (0: unbounded).</summary>
    public int MaxLead { get; set; } = 10_000;
}

/// <summary>The <c>loadgen</c> command: publishes persona waves to the configured Kafka at a steady rate, until stopped.</summary>
public sealed class LoadGenerator(IOptions<KafkaOptions> kafka, IOptions<LoadGenOptions> load, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = kafka.Value;
        var topic = options.InputTopics.Count > 0 ? options.InputTopics[0] : KafkaOptions.DefaultInputTopic;
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.RecordProducer(options, "micromoments-loadgen")).Build();
        var interval = TimeSpan.FromSeconds(1 / Math.Max(0.1, load.Value.EventsPerSecond));
        var next = time.GetUtcNow();
        using var lead = new LeadLimiter(options, topic, load.Value.MaxLead, time);
        long produced = 0;
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
                if (++produced % lead.CheckEvery == 0)
                {
                    await lead.WaitAsync(producer, stoppingToken);
                    next = Max(next, time.GetUtcNow()); // no burst to make up for the wait
                }
            }
        }
        producer.Flush(TimeSpan.FromSeconds(10));
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
