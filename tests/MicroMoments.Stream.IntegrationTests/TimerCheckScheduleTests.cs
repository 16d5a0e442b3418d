using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The consume loop's timer-check schedule, on a fake clock: no broker, no Redis.</summary>
public sealed class TimerCheckScheduleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Issue 11 item 0: a restarted worker's dwell timer never fired when the test advanced the clock while a
    /// timer check was running (it had just produced the first command). The check had read the old time and
    /// found nothing due, then scheduled the next check from the new time, which the clock never reached again.
    /// </summary>
    [Fact]
    public void Item0_TimerDueAfterRestart_ClockMovesDuringACheck_NextCheckIsDue()
    {
        var clock = new FakeTimeProvider(T0);
        var schedule = new TimerCheckSchedule(clock, Interval);
        Assert.True(schedule.IsDue);

        var check = schedule.Start();
        clock.Advance(TimeSpan.FromSeconds(91)); // the dwell timer falls due while the check reads Redis
        schedule.Finish(check, more: false);

        Assert.True(schedule.IsDue);
    }

    [Fact]
    public void Finish_ClockStill_NextCheckOneIntervalAfterTheStart()
    {
        var clock = new FakeTimeProvider(T0);
        var schedule = new TimerCheckSchedule(clock, Interval);
        var check = schedule.Start();
        clock.Advance(TimeSpan.FromMilliseconds(50)); // the check's own round trips
        schedule.Finish(check, more: false);

        Assert.False(schedule.IsDue);
        clock.Advance(TimeSpan.FromMilliseconds(149));
        Assert.False(schedule.IsDue);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(schedule.IsDue);
    }

    [Fact]
    public void Finish_MoreDueThanOneCheckTakes_NextCheckAtOnce()
    {
        var clock = new FakeTimeProvider(T0);
        var schedule = new TimerCheckSchedule(clock, Interval);
        schedule.Finish(schedule.Start(), more: true);

        Assert.True(schedule.IsDue);
    }

    [Fact]
    public void Finish_PartitionsAssignedDuringTheCheck_NextCheckAtOnce()
    {
        var clock = new FakeTimeProvider(T0);
        var schedule = new TimerCheckSchedule(clock, Interval);
        var check = schedule.Start();
        schedule.CheckNow(); // a rebalance inside the check's Consume calls (Redis outage) brought new partitions
        schedule.Finish(check, more: false);

        Assert.True(schedule.IsDue);
    }
}
