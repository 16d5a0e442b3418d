using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// Runs a Redis stage. When Redis stays unavailable past the Polly retries, consumption is paused and the
/// stage retried with backoff until Redis answers; the consumer keeps being polled so the group membership
/// and rebalance callbacks stay alive. Nothing is skipped: the batch in hand completes once Redis is back.
/// Each retry first asks Redis itself (<see cref="RedisProbe"/>), which closes the circuit breaker when it
/// answers: retrying through the breaker alone left the resume to whichever call won its one half-open trial
/// per break, and a trial that failed for its own reason, or never ended, could keep the loop paused while Redis answered.
/// </summary>
public sealed class RedisOutageGate(RedisProbe probe, IConsumptionPause consumption, IRedisHealthListener health, TimeProvider time, ILogger logger)
    : IStoreOutageGate
{
    /// <summary>Longest wait between two checks whether Redis answers again: how late, at most, the loop resumes.</summary>
    private static readonly TimeSpan MaxPauseBackoff = TimeSpan.FromSeconds(2);

    public async Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null)
    {
        try
        {
            await (started ?? stage());
            return;
        }
        catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
        {
            health.ErrorSeen();
            if (RefusalOf(ex) is { } refused)
            {
                health.RefusalChanged(refused);
                RedisLog.RedisAuthFailed(logger, refused, ex);
            }
            else
            {
                RedisLog.RedisDown(logger, ex);
            }
        }
        health.AvailabilityChanged(false);
        var since = time.GetTimestamp();
        consumption.Pause();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            consumption.Poll(delay);
            try
            {
                if (await probe.AnswersAsync())
                {
                    await stage();
                    break;
                }
                if (probe.LastFailure is { } failure)
                {
                    // Credentials or ACL changed during the pause (either way): readiness names the current cause.
                    health.RefusalChanged(RefusalOf(failure));
                }
            }
            catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
            {
                // Redis answers PING but the stage failed (a node still loading, a cluster not yet serving, an ACL
                // that allows PING but not the stage's commands): back off too.
                health.RefusalChanged(RefusalOf(ex));
            }
            health.ErrorSeen();
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxPauseBackoff.Ticks));
        }
        consumption.Resume();
        health.AvailabilityChanged(true);
        health.RefusalChanged(null);
        RedisLog.RedisBack(logger, time.GetElapsedTime(since).TotalSeconds);
    }

    /// <summary>What readiness says when Redis answers but refuses this worker, or null for an outage.</summary>
    public static string? RefusalOf(Exception ex) =>
        RedisResilience.IsAuthenticationFailure(ex) ? "Redis authentication failed"
        : RedisResilience.IsPermissionFailure(ex) ? "Redis refused the command for this user (NOPERM: its ACL forbids it)"
        : null;
}
