using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

public sealed class UnreadableStateTests
{
    public static TheoryData<string> Forms() => [.. CorruptStates.For("u-1").Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Forms))]
    public void Read_CorruptValue_ThrowsOnlyUnreadableStateException(string form)
    {
        var value = CorruptStates.For("u-1").Single(c => c.Name == form).Value;

        var ex = Record.Exception(() => UserStateSerializer.Read(value, "u-1"));

        Assert.IsType<UnreadableStateException>(ex);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Read_ValidBinaryAndJson_ReadsTheUsersState()
    {
        var state = new UserState { UserId = "u-1", LastEventAt = 1_795_000_000_000, Traits = new(StringComparer.Ordinal) { ["name"] = "Ada" } };

        Assert.Equal(1_795_000_000_000, UserStateSerializer.Read(LegacyFormat1.Serialize(state), "u-1").LastEventAt);
        Assert.Equal("Ada", UserStateSerializer.Read(UserStateSerializer.ToJson(state), "u-1").Traits!["name"]);
    }

    [Fact]
    public void Read_JsonWithoutOptionalFields_IsReadable()
    {
        // What an earlier version wrote for a user with one event: only the fields it had.
        var state = UserStateSerializer.Read("""{"u":"u-1","wm":{"clickstream/0":3},"le":5}"""u8, "u-1");

        Assert.Equal(5, state.LastEventAt);
    }

    [Fact]
    public void Read_StateOfAnotherUser_IsUnreadable()
    {
        var other = LegacyFormat1.Serialize(new UserState { UserId = "u-2" });

        var ex = Assert.Throws<UnreadableStateException>(() => UserStateSerializer.Read(other, "u-1"));

        Assert.Contains("another user", ex.Message, StringComparison.Ordinal);
    }
}
