using System.Text.Json;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Reads and writes <see cref="UserState"/> as kept in Redis. Written in the format the caller names (the worker takes it from
/// <c>MicroMoments:Redis:StateFormat</c>): by default the container of sections, format 2 (<see cref="StateContainer"/>).
/// Read in any of them, told apart by the first byte: 0x02 the container, 0x01 format 1 (<see cref="LegacyFormat1"/>, what
/// versions before the container wrote), '{' the JSON form earlier versions wrote.
/// </summary>
public static class UserStateSerializer
{
    /// <summary>The stored form of <paramref name="state"/> in <paramref name="format"/>.</summary>
    public static byte[] Serialize(UserState state, UserStateFormat format = UserStateFormat.Container) => format switch
    {
        UserStateFormat.Json => ToJson(state),
        // Format 1 is frozen before the container's later fields: a state that holds one is written as JSON instead, which
        // every version reads (ignoring what it does not know), so a waiting candidate or a user-wide pause is not lost while
        // a rolling upgrade from a version before the container runs with StateFormat=Binary.
        UserStateFormat.Binary => HasContainerOnlyFields(state) ? ToJson(state) : LegacyFormat1.Serialize(state),
        _ => StateContainer.Serialize(state),
    };

    private static bool HasContainerOnlyFields(UserState s) =>
        s.Waiting is not null || s.UnservedCrossings is not null || s.Behaviour is not null || s.UserDismissals != 0 || s.UserPausedUntil != 0
        || s.EventTime is not null || s.RetentionMarks != 0 || s.RetentionLatest != 0 || s.RetentionGroups is not null || s.BanditArms is not null
        || s.LastSeen is not null;

    /// <summary>Reads a stored state; throws only <see cref="UnreadableStateException"/>, whatever the bytes.</summary>
    public static UserState Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            throw new UnreadableStateException("the state is empty");
        }
        try
        {
            return data[0] == StateContainer.Version2
                ? StateContainer.Deserialize(data)
                : data[0] == LegacyFormat1.Version1
                ? LegacyFormat1.Deserialize(data)
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

/// <summary>How user state is written to Redis; every form is always read.</summary>
public enum UserStateFormat
{
    /// <summary>Format 1: compact binary with a fixed field bitmap (<see cref="LegacyFormat1"/>), which versions before the container read.</summary>
    Binary = 0,

    /// <summary>The JSON form every version reads.</summary>
    Json = 1,

    /// <summary>Format 2, the default: a container of length-prefixed sections (<see cref="StateContainer"/>), which skips what it does not know.</summary>
    Container = 2,
}
