using System.Text.Json;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Reads and writes <see cref="UserState"/> as kept in Redis: written in the compact binary format 1
/// (<see cref="UserStateBinary"/>); read in that format or in the JSON form earlier versions wrote, told
/// apart by the first byte (format 1 starts with 0x01, JSON with '{').
/// </summary>
public static class UserStateSerializer
{
    /// <summary>
    /// The format <see cref="Serialize"/> writes: <see cref="UserStateFormat.Binary"/>, or the JSON form while instances of an
    /// earlier version (which read only JSON) may still take over partitions — during a rolling upgrade, or before a rollback.
    /// Set once at start-up (the worker sets it from <c>MicroMoments:Redis:StateFormat</c>).
    /// </summary>
    public static UserStateFormat WriteFormat { get; set; } = UserStateFormat.Binary;

    public static byte[] Serialize(UserState state) =>
        WriteFormat == UserStateFormat.Json ? ToJson(state) : UserStateBinary.Serialize(state);

    /// <summary>Reads a stored state; throws only <see cref="UnreadableStateException"/>, whatever the bytes.</summary>
    public static UserState Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            throw new UnreadableStateException("the state is empty");
        }
        try
        {
            return data[0] == UserStateBinary.Version1
                ? UserStateBinary.Deserialize(data)
                : data[0] is (byte)'{' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF // JSON, perhaps after a BOM
                    ? JsonSerializer.Deserialize(data, UserStateJsonContext.Default.UserState) ?? throw new UnreadableStateException("the state is JSON null")
                    : throw new UnreadableStateException($"unknown state format (first byte 0x{data[0]:x2})");
        }
        catch (Exception ex) when (ex is not (UnreadableStateException or OutOfMemoryException))
        {
            // Any other failure here is the bytes' fault. Every count is bounded by the bytes left, so running out of memory
            // is the process's, not the value's: the batch fails and is retried rather than a good state being quarantined.
            throw new UnreadableStateException($"{ex.GetType().Name}: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>
    /// Reads <paramref name="userId"/>'s stored state and checks it is whole and theirs (<see cref="UserStateCheck"/>); throws
    /// only <see cref="UnreadableStateException"/>.
    /// </summary>
    public static UserState Read(ReadOnlySpan<byte> data, string userId)
    {
        var state = Deserialize(data);
        return UserStateCheck.Problem(state, userId) is { } problem ? throw new UnreadableStateException(problem) : state;
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] : line;
    }

    /// <summary>The readable form (the JSON that earlier versions stored), for <c>explain</c>.</summary>
    public static byte[] ToJson(UserState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, UserStateJsonContext.Default.UserState);
}

/// <summary>How user state is written to Redis; both are always read.</summary>
public enum UserStateFormat
{
    /// <summary>Format 1: compact binary (<see cref="UserStateBinary"/>).</summary>
    Binary,

    /// <summary>The JSON form every version reads.</summary>
    Json,
}
