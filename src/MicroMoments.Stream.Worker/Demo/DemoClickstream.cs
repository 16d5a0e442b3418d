using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>Publishes waves of <see cref="Personas"/> to the first input topic until the host stops.</summary>
public sealed class DemoClickstream(IOptions<KafkaOptions> kafka, IOptions<DemoOptions> demo, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = kafka.Value;
        using var producer = new ProducerBuilder<string, string>(KafkaClientConfigs.RecordProducer(options, "micromoments-demo")).Build();
        var topic = options.InputTopics[0];
        for (var wave = 1; !stoppingToken.IsCancellationRequested && (demo.Value.Waves == 0 || wave <= demo.Value.Waves); wave++)
        {
            var start = time.GetUtcNow();
            foreach (var e in Personas.Wave(wave, start).OrderBy(e => e.SendAfter))
            {
                var wait = start + e.SendAfter - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                var user = (string)e.Body["userId"]!;
                await producer.ProduceAsync(topic, new Message<string, string> { Key = user, Value = e.Body.ToJsonString() }, stoppingToken);
            }
            await Task.Delay(demo.Value.WaveInterval, time, stoppingToken);
        }
    }
}
