using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using StackExchange.Redis;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>How a Redis error reply is classed: an outage to wait out, a refusal to report, or a command error.</summary>
public sealed class RedisClassificationTests
{
    private static RedisServerException Reply(RedisErrorKind kind, string message) => new(kind, CommandFlags.None, message);

    [Fact]
    public void Item1_Misconf_IsAnOutageNotACommandError()
    {
        var ex = Reply(RedisErrorKind.Misconfigured, "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.");

        Assert.False(RedisResilience.IsCommandError(ex));
        Assert.True(RedisResilience.IsUnavailable(ex));
        Assert.Null(RedisOutageGate.RefusalOf(ex));
    }

    [Fact]
    public void Item1_Noperm_IsARefusalReportedAsSuch()
    {
        var ex = Reply(RedisErrorKind.NoPermission, "NOPERM User mm has no permissions to run the 'evalsha' command");

        Assert.False(RedisResilience.IsCommandError(ex));
        Assert.True(RedisResilience.IsUnavailable(ex));
        Assert.True(RedisResilience.IsPermissionFailure(ex));
        Assert.Contains("NOPERM", RedisOutageGate.RefusalOf(ex), StringComparison.Ordinal);
    }

    [Fact]
    public void Item1_WrongType_StaysACommandError()
    {
        var ex = Reply(RedisErrorKind.WrongType, "WRONGTYPE Operation against a key holding the wrong kind of value");

        Assert.True(RedisResilience.IsCommandError(ex));
        Assert.False(RedisResilience.IsUnavailable(ex));
        Assert.Null(RedisOutageGate.RefusalOf(ex));
    }

    [Fact]
    public void Item1_WrongPass_IsAnAuthenticationRefusal()
    {
        var ex = Reply(RedisErrorKind.WrongPass, "WRONGPASS invalid username-password pair or user is disabled.");

        Assert.False(RedisResilience.IsCommandError(ex));
        Assert.Equal("Redis authentication failed", RedisOutageGate.RefusalOf(ex));
    }
}
