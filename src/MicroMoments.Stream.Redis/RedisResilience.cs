using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>The Polly pipeline around Redis calls: short retries with jittered backoff, then a circuit breaker.</summary>
public static class RedisResilience
{
    /// <summary>The pipeline; <paramref name="circuit"/> lets <see cref="RedisProbe"/> close the circuit once Redis answers again.</summary>
    public static ResiliencePipeline Create(TimeProvider time, int retryAttempts = 3, CircuitBreakerManualControl? circuit = null) =>
        new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RedisException>(ex => !IsCommandError(ex)).Handle<TimeoutException>(),
                MaxRetryAttempts = retryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RedisException>(ex => !IsCommandError(ex)).Handle<TimeoutException>(),
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
                ManualControl = circuit,
            })
            .Build();

    /// <summary>True for the failures that mean "Redis is unavailable", as opposed to a bug.</summary>
    public static bool IsUnavailable(Exception ex) =>
        (ex is RedisException or TimeoutException or BrokenCircuitException or IsolatedCircuitException) && !IsCommandError(ex);

    /// <summary>
    /// Server replies that mean "the server is there but busy, failing over or unable to write" (MISCONF: it
    /// cannot persist, e.g. a full disk): retried like an outage, since exiting would restart into the same reply.
    /// </summary>
    private static readonly string[] TransientReplies = ["LOADING", "BUSY", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS", "OOM", "MISCONF"];

    /// <summary>
    /// True when Redis answered and refused the command (a wrong argument or type, a script error): retrying
    /// sends the same command and gets the same answer, so it is reported, never waited out as an outage.
    /// </summary>
    public static bool IsCommandError(Exception ex) =>
        ex is RedisServerException && !TransientReplies.Any(r => ex.Message.StartsWith(r, StringComparison.Ordinal)) && !IsAuthenticationFailure(ex) && !IsPermissionFailure(ex);

    /// <summary>
    /// True when Redis refused the credentials (a wrong ACL user or password, or none where one is required):
    /// not an outage, and retrying will not help until the configuration changes.
    /// </summary>
    public static bool IsAuthenticationFailure(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure })
            {
                return true;
            }
            if (e is RedisException && (e.Message.Contains("WRONGPASS", StringComparison.Ordinal) || e.Message.Contains("NOAUTH", StringComparison.Ordinal)
                || e.Message.Contains("AuthenticationFailure", StringComparison.Ordinal) || e.Message.Contains("authentication failure", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// True when Redis accepted the credentials but its ACL forbids this user a command or key (NOPERM): like a
    /// refused password, a configuration problem that retrying cannot fix, so it pauses rather than exits.
    /// </summary>
    public static bool IsPermissionFailure(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is RedisServerException { Kind: RedisErrorKind.NoPermission } || (e is RedisException && e.Message.Contains("NOPERM", StringComparison.Ordinal)))
            {
                return true;
            }
        }
        return false;
    }
}
