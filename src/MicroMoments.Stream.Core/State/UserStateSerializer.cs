using System.Text.Json;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Reads and writes <see cref="UserState"/> as kept in Redis: written in the compact binary format 1
/// (<see cref="UserStateBinary"/>); read in that format or in the JSON form earlier versions wrote, told
/// apart by the first byte (format 1 starts with 0x01, JSON with '{').
/// </summary>
public static class UserStateSerializer
{
    public static byte[] Serialize(UserState state) => UserStateBinary.Serialize(state);

    public static UserState Deserialize(ReadOnlySpan<byte> data) =>
        data.Length > 0 && data[0] == UserStateBinary.Version1
            ? UserStateBinary.Deserialize(data)
            : JsonSerializer.Deserialize(data, UserStateJsonContext.Default.UserState) ?? throw new JsonException("user state is null");

    /// <summary>The readable form (the JSON that earlier versions stored), for <c>explain</c>.</summary>
    public static byte[] ToJson(UserState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, UserStateJsonContext.Default.UserState);
}
