using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>What the consume loop knows about its dependencies, reported as a readiness check.</summary>
public sealed class PipelineHealth(TimeProvider? time = null) : IHealthCheck
{
    /// <summary>How long readiness stays failed after records were found lost.</summary>
    public static readonly TimeSpan LossReportedFor = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private volatile Tuple<string, DateTimeOffset>? _loss;
    private volatile string? _redisRefused;
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

    /// <summary>
    /// Why Redis refuses this worker (its credentials, or its ACL forbids a command), or null: readiness says so
    /// instead of calling it an outage.
    /// </summary>
    public string? RedisRefused { get => _redisRefused; set => _redisRefused = value; }

    /// <summary>Input records were skipped unread; readiness fails for <see cref="LossReportedFor"/> after the last one.</summary>
    public void ReportLoss(string what) => _loss = Tuple.Create(what, _time.GetUtcNow());

    private string? RecentLoss => _loss is { } l && _time.GetUtcNow() - l.Item2 < LossReportedFor ? l.Item1 : null;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !Running ? HealthCheckResult.Unhealthy("the consume loop is not running")
            : !Joined ? HealthCheckResult.Unhealthy("not yet joined the consumer group")
            : !RedisAvailable && RedisRefused is { } refused ? HealthCheckResult.Unhealthy($"{refused}: consumption is paused")
            : !RedisAvailable ? HealthCheckResult.Unhealthy("Redis is unavailable: consumption is paused")
            : KafkaDown is { } e ? HealthCheckResult.Unhealthy($"Kafka is unreachable: {e}")
            : RecentLoss is { } loss ? HealthCheckResult.Unhealthy($"records lost: {loss}")
            : HealthCheckResult.Healthy());
}
