namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// When the consume loop next looks for due timers. The next check is due one interval after the clock
/// reading taken when a check starts, not when it ends: a check takes Redis round trips, and a clock that
/// moves on while it runs (a fake clock advanced by a test, or simply a slow check) must lead to another
/// check. Scheduled from the end, a timer falling due during a check waited for the clock to pass the end
/// plus an interval, and a clock that does not move again left it unfired for good.
/// </summary>
internal sealed class TimerCheckSchedule(TimeProvider time, TimeSpan interval)
{
    private long _next;
    private int _resets;

    /// <summary>A check in progress: when it started, and how many times the schedule was reset before.</summary>
    public readonly record struct Check(long StartedAt, int Resets);

    public bool IsDue => time.GetTimestamp() >= _next;

    /// <summary>Asks for a check at once (partitions were assigned): also wins over a check already running.</summary>
    public void CheckNow()
    {
        _next = 0;
        _resets++;
    }

    public Check Start() => new(time.GetTimestamp(), _resets);

    /// <summary>Schedules the next check: at once when the shard had more due than one check takes, or partitions came in meanwhile.</summary>
    public void Finish(Check check, bool more) =>
        _next = more || check.Resets != _resets ? 0 : check.StartedAt + (long)(interval.TotalSeconds * time.TimestampFrequency);
}
