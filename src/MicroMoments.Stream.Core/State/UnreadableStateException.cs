namespace MicroMoments.Stream.Core.State;

/// <summary>
/// A stored user state that cannot be read: garbage bytes, an unknown format, a newer version's field, JSON that does not
/// describe a whole state, or one that names another user. The only exception <see cref="UserStateSerializer"/>'s readers
/// throw, so a caller quarantines the value and starts the user fresh instead of failing the batch.
/// </summary>
public sealed class UnreadableStateException : Exception
{
    public UnreadableStateException(string message) : base(message) { }

    public UnreadableStateException(string message, Exception inner) : base(message, inner) { }
}
