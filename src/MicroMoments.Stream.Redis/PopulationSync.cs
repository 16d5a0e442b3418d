using MicroMoments.Stream.Core.Analytics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Redis;

/// <summary>Shares this instance's advisory statistics (task-time observations, bandit arm counts) through Redis and takes in everyone else's.</summary>
public sealed partial class PopulationSync(UserStateStore store, ILogger<PopulationSync> logger)
{
    /// <summary>Returns false when Redis refused the command (not an outage): the votes are dropped and the stream goes on.</summary>
    public Task<bool> SyncAsync(PopulationBaseline population, IStoreOutageGate gate, DateTimeOffset now, CancellationToken ct)
    {
        var pending = population.TakePending();
        return ShareAsync(async () => population.Load(await store.SyncPopulationAsync(pending, now, ct)), gate, ct);
    }

    /// <summary>
    /// Pushes the arm counts this instance observed and takes every instance's back (<see cref="ArmStatistics"/>). Returns false
    /// when Redis refused the command: the counts are dropped (advisory, as the votes are) and the stream goes on.
    /// </summary>
    public Task<bool> SyncArmsAsync(ArmStatistics arms, IStoreOutageGate gate, CancellationToken ct)
    {
        var pending = arms.TakePending();
        return ShareAsync(async () => arms.Load(await store.SyncArmsAsync(pending, ct)), gate, ct);
    }

    /// <summary>Adds the hourly rule outcomes this instance observed to the shared hashes; false when Redis refused them (advisory: dropped).</summary>
    public Task<bool> SyncHourlyAsync(HourlyOutcomes hourly, IStoreOutageGate gate, CancellationToken ct)
    {
        var pending = hourly.TakePending();
        return pending.Count == 0 ? Task.FromResult(true) : ShareAsync(() => store.AddHourlyAsync(pending, ct), gate, ct);
    }

    /// <summary>Runs one exchange through the outage gate; false, logged, when Redis refused it (what it carried is dropped).</summary>
    private async Task<bool> ShareAsync(Func<Task> exchange, IStoreOutageGate gate, CancellationToken ct)
    {
        try
        {
            await gate.RunAsync(exchange, ct);
            return true;
        }
        catch (Exception ex) when (RedisResilience.IsCommandError(ex))
        {
            // The same command would be refused again, so waiting it out would stall the stream for advisory statistics.
            Refused(logger, ex);
            return false;
        }
    }

    [LoggerMessage(1102, LogLevel.Error, "Redis refused the population, bandit or hourly sync (a command error, not an outage); its votes or counts are dropped and the stream goes on")]
    private static partial void Refused(ILogger logger, Exception ex);
}
