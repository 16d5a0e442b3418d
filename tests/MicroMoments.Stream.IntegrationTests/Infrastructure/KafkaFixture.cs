using Confluent.Kafka;
using Confluent.Kafka.Admin;
using MicroMoments.Stream.Kafka;
using Testcontainers.Kafka;
using Xunit.Sdk;

namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>A Kafka broker for a test collection: a Testcontainers broker when Docker answers, else librdkafka's mock cluster.</summary>
public sealed class KafkaFixture(IMessageSink sink) : IAsyncLifetime
{
    /// <summary>A private mock cluster, whatever engine is around: for faults injected through the mock's API.</summary>
    public static KafkaFixture StartMock()
    {
        var fixture = new KafkaFixture(new NullMessageSink());
        fixture._mock = EmbeddedKafkaCluster.Start();
        fixture.BootstrapServers = fixture._mock.BootstrapServers;
        return fixture;
    }

    private EmbeddedKafkaCluster? _mock;
    private KafkaContainer? _container;

    public string BootstrapServers { get; private set; } = "";

    public string Kind => _container is not null ? "Testcontainers Kafka" : "librdkafka mock cluster";

    public EmbeddedKafkaCluster? Mock => _mock;

    public async Task InitializeAsync()
    {
        if (Docker.IsAvailable)
        {
            _container = new KafkaBuilder("confluentinc/cp-kafka:7.6.1").Build();
            await _container.StartAsync();
            BootstrapServers = _container.GetBootstrapAddress();
        }
        else
        {
            _mock = EmbeddedKafkaCluster.Start();
            BootstrapServers = _mock.BootstrapServers;
        }
        sink.OnMessage(new DiagnosticMessage($"Kafka for integration tests: {Kind} at {BootstrapServers}"));
    }

    /// <summary>Creates a topic with a unique name so tests can run in parallel.</summary>
    public async Task<string> CreateTopicAsync(string name, int partitions)
    {
        var topic = $"{name}-{Guid.NewGuid():N}";
        if (_mock is not null)
        {
            _mock.CreateTopic(topic, partitions);
            return topic;
        }
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
        return topic;
    }

    public IAsyncDisposable AsAsyncDisposable() => new Disposer(this);

    private sealed class Disposer(KafkaFixture fixture) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(fixture.DisposeAsync());
    }

    public async Task DisposeAsync()
    {
        _mock?.Dispose();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
