namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Runs a stage that needs the state store; while the store is unavailable, consumption pauses and the stage is retried.</summary>
public interface IStoreOutageGate
{
    /// <summary>
    /// Runs <paramref name="stage"/> (or awaits <paramref name="started"/>, a run of it already under way) until it
    /// succeeds; returns only then, or throws when <paramref name="ct"/> is cancelled or the failure is not an outage.
    /// </summary>
    Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null);
}
