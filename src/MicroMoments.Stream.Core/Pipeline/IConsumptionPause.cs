namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Stops reading input while a dependency is down, without leaving the consumer group.</summary>
public interface IConsumptionPause
{
    void Pause();

    /// <summary>Waits up to <paramref name="wait"/> while paused, serving the group's callbacks; a record delivered meanwhile is put back.</summary>
    void Poll(TimeSpan wait);

    void Resume();
}
