using System.Text.Json;

namespace MicroMoments.Stream.Core.State;

/// <summary>Reads and writes <see cref="UserState"/> as the compact JSON kept in Redis.</summary>
public static class UserStateSerializer
{
    public static byte[] Serialize(UserState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, UserStateJsonContext.Default.UserState);

    public static UserState Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, UserStateJsonContext.Default.UserState)
        ?? throw new JsonException("user state is null");
}
