using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>Issue 11: hostile time zones, timestamps, bytes and keys, and rules that throw for one user.</summary>
public sealed class HostileInputTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 20, 0, TimeSpan.Zero);
    private static readonly RecordSource Source = new("clickstream", 3, 42, Now.AddSeconds(-1));
    private readonly ClickEventParser _parser = new(new ParserLimits());

    private static string Line(string user, string zone, DateTimeOffset at, string type = "screen", string name = "Welcome") =>
        $$$"""{"type":"{{{type}}}","name":"{{{name}}}","event":"{{{name}}}","userId":"{{{user}}}","messageId":"{{{user}}}-{{{at.ToUnixTimeMilliseconds()}}}-{{{name}}}","timestamp":"{{{at:O}}}","context":{"timezone":"{{{zone}}}"}}""";

    [Theory]
    [InlineData("Europe")]
    [InlineData("America/")]
    [InlineData("Etc")]
    [InlineData("right")]
    [InlineData("right/Europe/Berlin")]
    [InlineData("../../etc/passwd")]
    public void Item1_FolderTimeZone_IsUnknownAndNotStoredAndLaterEventsAndTimersWork(string zone)
    {
        var sim = new OfflineSimulation(Defaults);

        var first = sim.Feed(Line("u1", zone, T0), 1);
        var later = sim.Feed(Line("u1", zone, T0.AddMinutes(1)), 2);
        sim.AdvanceTo(T0.AddDays(1));

        Assert.True(first.IsValid, first.Error);
        Assert.True(later.IsValid, later.Error);
        Assert.True(first.Event!.UnknownTimezone);
        Assert.Null(first.Event.Timezone);
        Assert.Null(sim.Users["u1"].Timezone);
        Assert.Equal(2, sim.UnknownTimezones);
        Assert.Empty(sim.TimerFailures);
        Assert.Contains(sim.Interventions, c => c.RuleId == "welcome-dwell" && c.UserId == "u1"); // the dwell timer fired
    }

    [Fact]
    public void Item1_UnknownZoneAfterKnownZone_KeepsTheKnownZone()
    {
        var sim = new OfflineSimulation(Defaults);

        sim.Feed(Line("u1", "Europe/Berlin", T0), 1);
        sim.Feed(Line("u1", "Europe", T0.AddMinutes(1)), 2);

        Assert.Equal("Europe/Berlin", sim.Users["u1"].Timezone);
    }

    [Theory]
    [InlineData("Europe/Berlin", 11)]
    [InlineData("America/New_York", 5)]
    [InlineData("W. Europe Standard Time", 11)] // a Windows id, as .NET accepts one
    [InlineData("UTC", 10)]
    [InlineData("Europe", 10)]
    [InlineData("europe/berlin", 10)] // ids are case-sensitive, as on a Linux file system
    public void Item1_ZoneFromEmbeddedDatabase_LocalHour(string zone, int hour) =>
        Assert.Equal(hour, TimeZones.Local(T0, zone).Hour);

    [Fact]
    public void Item1_QuietHoursAcrossDaylightSavingGap_MoveForwardByTheGap()
    {
        // 2026-03-29 02:00 local does not exist in Berlin: a window ending then resolves to 03:00 CEST = 01:00 UTC.
        var at = new DateTimeOffset(2026, 3, 28, 23, 30, 0, TimeSpan.Zero); // 00:30 CET
        var next = SendTime.NextOutside(at, new TimeWindow(TimeSpan.FromHours(22), TimeSpan.FromHours(2)), "Europe/Berlin");

        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), next);
    }

    [Fact]
    public void Item6_TimeZoneCache_ThousandsOfHugeDistinctZones_RetainNothing()
    {
        var parser = new ClickEventParser(new ParserLimits());
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 3_000; i++)
        {
            var zone = i.ToString("D6") + new string('x', 50_000);
            var r = parser.Parse(Encoding.UTF8.GetBytes(Line("u1", zone, T0)), null, Source, Now);
            Assert.True(r.Event!.UnknownTimezone);
            Assert.Equal(DateTimeZoneUtc, TimeZones.Find(zone).Id);
            Assert.Equal(10, TimeZones.Local(T0, zone).Hour);
        }
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;

        // Loose, as other tests run beside this one: a cache of the strings would hold 300 MB (UTF-16).
        Assert.True(retained < 64 * 1024 * 1024, $"{retained:N0} bytes retained after 3,000 zones of 50 KB");
        Assert.True(TimeZones.CachesOnlyDatabaseIds);
        Assert.False(TimeZones.IsKnown("Europe/Berlin" + new string(' ', TimeZones.MaxIdLength)));
    }

    private const string DateTimeZoneUtc = "UTC";

    [Theory]
    [InlineData("9999-12-31T23:59:59Z")]
    [InlineData("9000-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59.9999999+00:00")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("1899-12-31T23:59:59Z")]
    public void Item5_TimestampOutsideSupportedRange_IsInvalidTimestamp(string timestamp)
    {
        var parser = new ClickEventParser(new ParserLimits { MaxFutureSkew = TimeSpan.MaxValue }); // as simulate reads
        var r = parser.Parse(Encoding.UTF8.GetBytes($$"""{"type":"track","event":"Ping","userId":"u1","timestamp":"{{timestamp}}"}"""), null, Source, Now);

        Assert.Equal(RejectReasons.InvalidTimestamp, r.Reason);
        Assert.Contains(timestamp, r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Item5_Year9999Line_IsSkippedAndTheRunGoesOn()
    {
        var sim = new OfflineSimulation(Defaults);

        var bad = sim.Feed(Line("u1", "Europe/Berlin", new DateTimeOffset(9999, 12, 31, 23, 0, 0, TimeSpan.Zero)), 1);
        var good = sim.Feed(Line("u2", "Europe/Berlin", T0), 2);
        sim.AdvanceTo(T0.AddDays(7));

        Assert.Equal(RejectReasons.InvalidTimestamp, bad.Reason);
        Assert.True(good.IsValid);
        Assert.Contains(sim.Interventions, c => c.UserId == "u2");
        Assert.False(sim.Users.ContainsKey("u1"));
    }

    /// <summary>
    /// simulate's clock is the file's timeline (docs/cli.md): a line days ahead of the others is the
    /// file's "now" for every user; timers due before it fire first, each at its own due time. The worker instead
    /// dead-letters a record more than MaxFutureSkew ahead of its wall clock.
    /// </summary>
    [Fact]
    public void Item5_Simulate_LineStampedDaysAhead_IsTheFilesNowAndEarlierTimersFireAtTheirDueTime()
    {
        var sim = new OfflineSimulation(Defaults);

        sim.Feed(Line("u1", "Europe/Berlin", T0), 1);
        var ahead = sim.Feed(Line("u2", "Europe/Berlin", T0.AddDays(2)), 2);

        Assert.True(ahead.IsValid, ahead.Error);
        Assert.Equal(T0.AddDays(2), sim.Clock);
        var dwell = Assert.Single(sim.Interventions, c => c.UserId == "u1" && c.RuleId == "welcome-dwell");
        Assert.Equal(T0.AddSeconds(90), dwell.DecidedAt);
    }

    [Fact]
    public void Item5_InvalidUtf8Line_IsMalformedNotDecodedToReplacementCharacter()
    {
        var sim = new OfflineSimulation(Defaults);
        var line = Encoding.UTF8.GetBytes(Line("u-X", "Europe/Berlin", T0));
        line[Array.IndexOf(line, (byte)'X')] = 0xFF;

        var r = sim.Feed(line, 7);

        Assert.Equal(RejectReasons.MalformedJson, r.Reason);
        Assert.Contains("not valid UTF-8", r.Error, StringComparison.Ordinal);
        Assert.Empty(sim.Users);
    }

    [Fact]
    public void Item5_InvalidUtf8InASkippedMember_IsMalformed()
    {
        var json = Encoding.UTF8.GetBytes("""{"type":"track","event":"Ping","userId":"u1","context":{"other":"aXb"}}""");
        json[Array.LastIndexOf(json, (byte)'X')] = 0xFE;

        Assert.Equal(RejectReasons.MalformedJson, _parser.Parse(json, null, Source, Now).Reason);
    }

    [Fact]
    public void Item7_InvalidUtf8Keys_NoUserInBody_AreInvalidKeyNotOneMergedUser()
    {
        var body = Encoding.UTF8.GetBytes("""{"type":"track","event":"Ping","timestamp":"2026-11-24T10:00:00Z"}""");

        var ff = _parser.ParseWithUtf8Key(body, [(byte)'m', (byte)'-', 0xFF], Source, Now);
        var fe = _parser.ParseWithUtf8Key(body, [(byte)'m', (byte)'-', 0xFE], Source, Now);
        var valid = _parser.ParseWithUtf8Key(body, "m-é"u8, Source, Now);

        Assert.Equal(RejectReasons.InvalidKey, ff.Reason);
        Assert.Equal(RejectReasons.InvalidKey, fe.Reason);
        Assert.Contains("byte 2", ff.Error, StringComparison.Ordinal);
        Assert.Equal("m-é", valid.Event!.UserId);
    }

    [Fact]
    public void Item7_InvalidUtf8Key_UserInBody_KeyIsNotNeeded()
    {
        var body = Encoding.UTF8.GetBytes("""{"type":"track","event":"Ping","userId":"u1","timestamp":"2026-11-24T10:00:00Z"}""");

        var r = _parser.ParseWithUtf8Key(body, [(byte)'m', (byte)'-', 0xFF], Source, Now);

        Assert.Equal("u1", r.Event!.UserId);
    }

    private static readonly RuleSet Bombs = WithHugeExpiry(RuleSetLoader.Load("""
        version: bombs
        rules:
          - id: bomb-dwell
            trigger: { kind: dwell, view: Bomb, after: 90s }
            action: { moment: curiosity, channel: in_app, message: { body: boom } }
          - id: bomb-event
            trigger: { kind: event, event: Boom }
            action: { moment: curiosity, channel: in_app, message: { body: boom } }
          - id: welcome
            trigger: { kind: dwell, view: Welcome, after: 90s }
            action: { moment: curiosity, channel: in_app, message: { body: hi } }
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
        """), "bomb-dwell", "bomb-event");

    /// <summary>Rules whose command's expiry overflows the calendar: they throw when they emit, whatever the loader allows.</summary>
    internal static RuleSet WithHugeExpiry(RuleSet rules, params string[] ids) => new()
    {
        Version = rules.Version,
        Policy = rules.Policy,
        Labels = rules.Labels,
        Features = rules.Features,
        Rules = rules.Rules.Select(r => !ids.Contains(r.Id) ? r : new Rule
        {
            Id = r.Id, Trigger = r.Trigger, Conditions = r.Conditions, Policy = r.Policy, Experiment = r.Experiment, Conversion = r.Conversion,
            Action = new ActionSpec
            {
                Moment = r.Action.Moment, Channels = r.Action.Channels, Priority = r.Action.Priority, Delay = r.Action.Delay,
                Expiry = TimeSpan.MaxValue, Message = r.Action.Message, Intent = r.Action.Intent, Category = r.Action.Category, Tip = r.Action.Tip,
            },
        }).ToList(),
    };

    private static readonly string[] GoodStory =
    [
        Line("u1", "Europe/Berlin", T0),
        Line("u2", "America/New_York", T0.AddMinutes(1), "track", "Ping"),
        Line("u3", "Europe/Berlin", T0.AddMinutes(2)),
        Line("u2", "America/New_York", T0.AddMinutes(10)),
    ];

    private static readonly string[] BombStory =
    [
        Line("bad", "Europe/Berlin", T0.AddSeconds(30), "screen", "Bomb"),
        Line("bad", "Europe/Berlin", T0.AddMinutes(3), "track", "Boom"),
    ];

    private static (OfflineSimulation Sim, List<ParseResult> Results) Run(IEnumerable<string> lines)
    {
        var sim = new OfflineSimulation(Bombs);
        var results = lines.Select((l, i) => sim.Feed(l, i + 1)).ToList();
        sim.AdvanceTo(T0.AddDays(1));
        return (sim, results);
    }

    [Fact]
    public void RuleThrowsFromTimerAndEvent_ForOneUser_OnlyThatUserIsAffected()
    {
        var (clean, _) = Run(GoodStory);
        // The bomb user's lines interleaved with the others', and a good event of theirs after the failures.
        var mixed = new[] { GoodStory[0], BombStory[0], GoodStory[1], GoodStory[2], BombStory[1], GoodStory[3], Line("bad", "Europe/Berlin", T0.AddMinutes(20), "track", "Ping") };
        var (hostile, results) = Run(mixed);

        var failure = Assert.Single(hostile.TimerFailures);
        Assert.Equal(("bad", T0.AddSeconds(120)), (failure.UserId, failure.DueAt));
        Assert.Contains(nameof(ArgumentOutOfRangeException), failure.Error, StringComparison.Ordinal);
        Assert.Equal(RejectReasons.RuleError, results[4].Reason);
        Assert.Equal(["pong"], hostile.Interventions.Where(c => c.UserId == "bad").Select(c => c.Message.Body)); // the user goes on too
        Assert.Null(hostile.Users["bad"].Timers?.FirstOrDefault(t => t.Id == "bomb-dwell")); // dropped, not retried forever
        string Others(OfflineSimulation s) => string.Join('\n', s.Interventions.Where(c => c.UserId != "bad")
            .Select(c => Encoding.UTF8.GetString(InterventionCloudEvents.Encode(c))));
        Assert.Equal(Others(clean), Others(hostile));
        Assert.NotEmpty(Others(clean));
    }
}
