using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>What the consume loop knows about its dependencies, reported as a readiness check.</summary>
public sealed class PipelineHealth : IHealthCheck
{
    private volatile bool _redisAvailable = true;
    private volatile bool _running;
    private volatile bool _joined;
    private volatile string? _kafkaDown;

    public bool RedisAvailable { get => _redisAvailable; set => _redisAvailable = value; }
    public bool Running { get => _running; set => _running = value; }

    /// <summary>The consumer took part in a rebalance: it has partitions, or there are more instances than partitions.</summary>
    public bool Joined { get => _joined; set => _joined = value; }

    /// <summary>How many partitions this instance owns now.</summary>
    public int Partitions { get => Volatile.Read(ref _partitions); set => Volatile.Write(ref _partitions, value); }

    private int _partitions;

    /// <summary>Why the brokers are unreachable, or null while Kafka answers.</summary>
    public string? KafkaDown { get => _kafkaDown; set => _kafkaDown = value; }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !Running ? HealthCheckResult.Unhealthy("the consume loop is not running")
            : !Joined ? HealthCheckResult.Unhealthy("not yet joined the consumer group")
            : !RedisAvailable ? HealthCheckResult.Unhealthy("Redis is unavailable: consumption is paused")
            : KafkaDown is { } e ? HealthCheckResult.Unhealthy($"Kafka is unreachable: {e}")
            : HealthCheckResult.Healthy());
}
