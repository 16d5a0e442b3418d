using Polly.CircuitBreaker;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// Asks Redis itself whether it answers: a PING to every connected primary, straight on the connection, with
/// neither the Polly retries nor the circuit breaker in the way. When they answer, the circuit is closed.
/// </summary>
/// <remarks>
/// The consume loop pauses on an outage and asks this before each retry. Retrying through the breaker alone
/// only ever asked the breaker: half-open, it lets one trial call through per break and fails every other
/// call at once, and it leaves half-open only when that trial ends, so a trial that failed for its own reason
/// (a connection being replaced, a cluster not yet serving), or never ended, kept the loop paused while Redis answered.
/// Only connected primaries are asked: a primary that failed over can stay in the server list, disconnected, and
/// requiring it to answer would keep the pause forever; a stage that still needs it fails and the loop backs off.
/// </remarks>
public sealed class RedisProbe(IConnectionMultiplexer redis, CircuitBreakerManualControl circuit)
{
    /// <summary>Why the last probe failed (null after one that succeeded), so the caller can tell a refusal from an outage.</summary>
    public Exception? LastFailure { get; private set; }

    public async Task<bool> AnswersAsync()
    {
        try
        {
            var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
            if (primaries.Count == 0)
            {
                LastFailure = null;
                return false;
            }
            await Task.WhenAll(primaries.Select(s => s.PingAsync()));
        }
        catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
        {
            LastFailure = ex;
            return false;
        }
        LastFailure = null;
        await circuit.CloseAsync();
        return true;
    }
}
