namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>Re-sends what a previous owner's outbox holds and the output topic lacks.</summary>
public interface IOutboxRecovery
{
    /// <summary>Returns how many commands the output topic already had and how many were re-sent.</summary>
    Task<(int Found, int Resent)> RecoverAsync(byte[] outbox, CancellationToken ct);
}
