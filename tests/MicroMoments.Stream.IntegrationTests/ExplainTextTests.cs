using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Worker;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary><c>explain</c>'s state in words, its <c>--raw</c> dump, and the demo's commands that reach its embedded store.</summary>
public sealed class ExplainTextTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private static UserState State() => new()
    {
        UserId = "u-1",
        Watermarks = new(StringComparer.Ordinal) { ["clickstream:0"] = 17 },
        FirstSeenAt = Now.AddDays(-3).ToUnixTimeMilliseconds(),
        LastEventAt = Now.ToUnixTimeMilliseconds(),
        RecentIds = [11, 12],
        ActiveHours = new byte[24],
        Windows = new Dictionary<string, List<WindowHit>> { ["setup-task-failing|billing"] = [new WindowHit(Now.AddMinutes(-2).ToUnixTimeMilliseconds(), "e-8")] },
    };

    private static string Written(UserState state, bool raw)
    {
        var o = new StringWriter();
        ExplainCommand.WriteState(o, state, raw);
        return o.ToString();
    }

    [Fact]
    public void WriteState_Default_NamesFieldsInWordsAndTimesInUtc()
    {
        var text = Written(State(), raw: false);

        Assert.Contains("  watermarks: clickstream:0 = 17", text, StringComparison.Ordinal);
        Assert.Contains("  first seen at: 2026-11-21 10:00:00.000 UTC", text, StringComparison.Ordinal);
        Assert.Contains("  last event at: 2026-11-24 10:00:00.000 UTC", text, StringComparison.Ordinal);
        Assert.Contains("  recent ids: 11, 12", text, StringComparison.Ordinal);
        Assert.Contains("  active hours: (24 bytes)", text, StringComparison.Ordinal);
        Assert.Contains("  windows:\n    setup-task-failing|billing:\n      - at 2026-11-24 09:58:00.000 UTC, event id e-8\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        foreach (var key in new[] { "\"wm\"", "wm:", "fs:", "le:", "ri:", "ah:" })
        {
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WriteState_Raw_PrintsTheStoredJson()
    {
        var text = Written(State(), raw: true);

        Assert.Contains("\"wm\": {", text, StringComparison.Ordinal);
        Assert.Contains("\"le\": " + Now.ToUnixTimeMilliseconds(), text, StringComparison.Ordinal);
        Assert.DoesNotContain("last event at", text, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandsReaching_EmbeddedStore_SetsItsAddressAndRunsThisWorker()
    {
        var (explain, report) = EmbeddedInfrastructure.CommandsReaching("127.0.0.1:40123,abortConnect=false", "u-skeptic");

        Assert.StartsWith("MicroMoments__Redis__Configuration='127.0.0.1:40123,abortConnect=false' ", explain, StringComparison.Ordinal);
        Assert.EndsWith(" explain --user u-skeptic", explain, StringComparison.Ordinal);
        Assert.EndsWith(" report", report, StringComparison.Ordinal);
        Assert.Contains(Environment.ProcessPath!, explain, StringComparison.Ordinal);
    }
}
