using MicroMoments.Stream.Redis;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Puts what the Redis outage gate learns into readiness and metrics.</summary>
public sealed class RedisHealthReport(PipelineHealth health, PipelineTelemetry telemetry) : IRedisHealthListener
{
    public void ErrorSeen() => telemetry.RedisError();

    public void RefusalChanged(string? refusal) => health.RedisRefused = refusal;

    public void AvailabilityChanged(bool available) => health.RedisAvailable = available;
}
