using MicroMoments.Stream.Core.Pipeline;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// Re-sends a crashed owner's outbox: the output topic is read from the recorded offsets to its end, and only the
/// commands not found there are produced again; decisions and dead letters are re-sent as they are (at least once).
/// </summary>
public sealed class OutboxRecovery(CommandPublisher publisher, OutputTopicReader output) : IOutboxRecovery
{
    public async Task<(int Found, int Resent)> RecoverAsync(byte[] outbox, CancellationToken ct)
    {
        var (bounds, messages) = Outbox.Decode(outbox);
        var commands = messages.Where(m => m.InterventionId is not null).ToList();
        var present = commands.Count == 0 ? [] : output.ReadProducedIds(bounds, commands.Select(c => c.InterventionId!).ToHashSet(StringComparer.Ordinal), ct);
        var resend = messages.Where(m => m.InterventionId is null || !present.Contains(m.InterventionId)).ToList();
        await publisher.ProduceAsync(resend);
        return (present.Count, resend.Count(m => m.InterventionId is not null));
    }
}
