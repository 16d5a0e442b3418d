using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Cap windows: <c>per: 1d</c> is the calendar day in the user's time zone, <c>per: 24h</c> the last 24 hours. The rule drops when
/// capped (<c>onBlocked: drop</c>), so each outcome shows the window alone (deferral: <see cref="DeliveryTimeTests"/>).
/// </summary>
public sealed class CapWindowTests
{
    private static string Rules(string per, int max = 1) => $$"""
        version: t
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: m, channel: in_app, message: { body: hi } }
            policy: { caps: [ { max: {{max}}, per: {{per}} } ], onBlocked: drop }
        """;

    private static string Outcomes(LocalStory s) => string.Join(",", s.DecisionsOf("ping").Select(d => d.Reason ?? d.Outcome));

    [Theory]
    [InlineData("1d", 1)]
    [InlineData("7d", 7)]
    [InlineData("P1D", 1)]
    [InlineData("p2d", 2)]
    [InlineData("24h", 0)]
    [InlineData("1.5d", 0)]
    [InlineData("PT24H", 0)]
    [InlineData("P1DT1H", 0)]
    [InlineData("1440m", 0)]
    public void CalendarDays_PerSpelling_WholeDaysOnly(string per, int days) => Assert.Equal(days, Durations.CalendarDays(per));

    [Fact]
    public void Load_CapPerOneDay_IsOneCalendarDay()
    {
        var cap = RuleSetLoader.Load(Rules("1d")).Rules[0].Policy.Caps[0];

        Assert.Equal((1, TimeSpan.FromDays(1)), (cap.CalendarDays, cap.Window));
        Assert.Equal(0, RuleSetLoader.Load(Rules("24h")).Rules[0].Policy.Caps[0].CalendarDays);
    }

    [Fact]
    public void Check_OneDayAcrossLocalMidnight_NextDayAllowed()
    {
        var s = new LocalStory(Rules("1d")).Track("Ping", 2026, 11, 24, 23, 50).Track("Ping", 2026, 11, 25, 0, 10);

        Assert.Equal("emitted,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_OneDaySameLocalDay_NearMiss_Capped()
    {
        var s = new LocalStory(Rules("1d")).Track("Ping", 2026, 11, 24, 0, 10).Track("Ping", 2026, 11, 24, 23, 59);

        Assert.Equal("emitted,window_cap", Outcomes(s));
    }

    [Fact]
    public void Check_OneDayIsLocalNotUtc_MidnightBerlinIs23Utc()
    {
        // 22:50 and 23:10 UTC on one UTC day are 23:50 and 00:10 in Berlin: two local days.
        var s = new LocalStory(Rules("1d"))
            .Track("Ping", new DateTimeOffset(2026, 11, 24, 22, 50, 0, TimeSpan.Zero))
            .Track("Ping", new DateTimeOffset(2026, 11, 24, 23, 10, 0, TimeSpan.Zero));

        Assert.Equal("emitted,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_TwentyFourHoursAcrossLocalMidnight_Capped()
    {
        var s = new LocalStory(Rules("24h")).Track("Ping", 2026, 11, 24, 23, 50).Track("Ping", 2026, 11, 25, 0, 10);

        Assert.Equal("emitted,window_cap", Outcomes(s));
    }

    [Fact]
    public void Check_TwentyFourHoursLater_Allowed()
    {
        var s = new LocalStory(Rules("24h")).Track("Ping", 2026, 11, 24, 23, 50).Track("Ping", 2026, 11, 25, 23, 50);

        Assert.Equal("emitted,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_OneMinuteShortOfTwentyFourHours_NearMiss_Capped()
    {
        var s = new LocalStory(Rules("24h")).Track("Ping", 2026, 11, 24, 23, 50).Track("Ping", 2026, 11, 25, 23, 49);

        Assert.Equal("emitted,window_cap", Outcomes(s));
    }

    [Fact]
    public void Check_OneDayOnTheShortDayInBerlin_SameDayCappedNextAllowed()
    {
        // 2026-03-29 has 23 hours in Berlin (02:00 CET → 03:00 CEST).
        var s = new LocalStory(Rules("1d"))
            .Track("Ping", 2026, 3, 29, 0, 5).Track("Ping", 2026, 3, 29, 23, 55).Track("Ping", 2026, 3, 30, 0, 5);

        Assert.Equal("emitted,window_cap,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_OneDayOnTheLongDayInBerlin_SameDayCappedAfterMoreThan24Hours()
    {
        // 2026-10-25 has 25 hours in Berlin: 00:05 and 23:55 are 24 h 50 min apart, still the same day.
        var s = new LocalStory(Rules("1d"))
            .Track("Ping", 2026, 10, 25, 0, 5).Track("Ping", 2026, 10, 25, 23, 55).Track("Ping", 2026, 10, 26, 0, 5);

        Assert.Equal("emitted,window_cap,emitted", Outcomes(s));
        Assert.Equal(TimeSpan.FromMinutes(24 * 60 + 50), s.At(2026, 10, 25, 23, 55) - s.At(2026, 10, 25, 0, 5));
    }

    [Fact]
    public void Check_TwentyFourHoursOnTheLongDayInBerlin_AllowedBeforeLocalMidnight()
    {
        var s = new LocalStory(Rules("24h")).Track("Ping", 2026, 10, 25, 0, 5).Track("Ping", 2026, 10, 25, 23, 55);

        Assert.Equal("emitted,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_OneDayWhenNewYorkFallsBack_SameDayCapped()
    {
        // 2026-11-01: EDT → EST at 02:00, a 25-hour day in New York.
        var s = new LocalStory(Rules("1d"), "America/New_York")
            .Track("Ping", 2026, 11, 1, 0, 5).Track("Ping", 2026, 11, 1, 23, 55).Track("Ping", 2026, 11, 2, 0, 5);

        Assert.Equal("emitted,window_cap,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_OneDayWhenNewYorkSpringsForward_NextDayAllowed()
    {
        var s = new LocalStory(Rules("1d"), "America/New_York")
            .Track("Ping", 2026, 3, 8, 23, 55).Track("Ping", 2026, 3, 9, 0, 5);

        Assert.Equal("emitted,emitted", Outcomes(s));
    }

    [Fact]
    public void Check_TwoDays_TodayAndYesterdayCount()
    {
        var s = new LocalStory(Rules("2d", max: 2))
            .Track("Ping", 2026, 11, 23, 0, 5).Track("Ping", 2026, 11, 24, 23, 0).Track("Ping", 2026, 11, 24, 23, 55) // 2 in two days: capped
            .Track("Ping", 2026, 11, 25, 0, 5); // 11-23 dropped out: one in the two days

        Assert.Equal("emitted,emitted,window_cap,emitted", Outcomes(s));
    }
}
