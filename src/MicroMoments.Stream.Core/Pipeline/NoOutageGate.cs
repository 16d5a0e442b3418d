namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The gate of a store that has no outages to wait out (memory in <c>simulate</c>) or whose failure should simply end the
/// run (the warm-up): runs the stage once, and a failure is the caller's.
/// </summary>
public sealed class NoOutageGate : IStoreOutageGate
{
    public static readonly NoOutageGate Instance = new();

    private NoOutageGate()
    {
    }

    public Task RunAsync(Func<Task> stage, CancellationToken ct, Task? started = null) => started ?? stage();
}
