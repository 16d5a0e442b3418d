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

    public static UserState Deserialize(ReadOnlySpan<byte> data) =>
        data.Length > 0 && data[0] == UserStateBinary.Version1
            ? UserStateBinary.Deserialize(data)
            : JsonSerializer.Deserialize(data, UserStateJsonContext.Default.UserState) ?? throw new JsonException("user state is null");

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
