using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Kafka;

/// <summary>The one producer of a worker: commands, decisions and dead letters all go through it.</summary>
public static class KafkaProducers
{
    public static IProducer<byte[]?, byte[]?> Create(KafkaOptions options, ILogger logger) =>
        new ProducerBuilder<byte[]?, byte[]?>(KafkaClientConfigs.Producer(options))
            .SetErrorHandler((_, e) => KafkaLog.KafkaError(logger, e.Code.ToString(), e.Reason))
            .Build();
}
