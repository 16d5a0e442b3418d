namespace MicroMoments.Stream.Redis;

/// <summary>Hears what <see cref="RedisOutageGate"/> learns about Redis, for readiness and metrics.</summary>
public interface IRedisHealthListener
{
    /// <summary>A Redis stage failed as unavailable.</summary>
    void ErrorSeen();

    /// <summary>Why Redis refuses this worker (credentials or ACL), or null when it is an outage.</summary>
    void RefusalChanged(string? refusal);

    void AvailabilityChanged(bool available);
}
