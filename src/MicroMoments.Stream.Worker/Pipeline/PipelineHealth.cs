using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>What the consume loop knows about its dependencies, reported as a readiness check.</summary>
public sealed class PipelineHealth : IHealthCheck
{
    private volatile bool _redisAvailable = true;
    private volatile bool _running;
    private volatile string? _kafkaError;

    public bool RedisAvailable { get => _redisAvailable; set => _redisAvailable = value; }
    public bool Running { get => _running; set => _running = value; }
    public string? KafkaError { get => _kafkaError; set => _kafkaError = value; }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !Running ? HealthCheckResult.Unhealthy("the consume loop is not running")
            : !RedisAvailable ? HealthCheckResult.Unhealthy("Redis is unavailable: consumption is paused")
            : KafkaError is { } e ? HealthCheckResult.Degraded($"Kafka: {e}")
            : HealthCheckResult.Healthy());
}
