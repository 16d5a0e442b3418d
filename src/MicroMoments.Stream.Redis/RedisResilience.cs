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
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>(),
                MaxRetryAttempts = retryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>(),
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
                ManualControl = circuit,
            })
            .Build();

    /// <summary>True for the failures that mean "Redis is unavailable", as opposed to a bug.</summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutException or BrokenCircuitException or IsolatedCircuitException;
}
