using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Kafka;

/// <summary>Hears what <see cref="CommandPublisher"/> produces, for metrics.</summary>
public interface IPublishListener
{
    void Emitted(InterventionCommand command);

    void DeadLettered(string reason);
}
