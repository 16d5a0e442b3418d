using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Policies;

/// <summary>
/// <c>policies.rateLimit</c> (docs/rules.md, "Pacing"): a command the rules would produce on a limited channel waits in the
/// user's schedule for a minute from the ledger every instance shares (<see cref="IRateLedger"/>), asked once per batch by
/// the pace stage. This is what a minute request covers and how a grant reads.
/// </summary>
public static class RateLimitPolicy
{
    public const long MinuteMs = 60_000;

    /// <summary>
    /// How far one command looks for a free minute. A channel full for a whole day past a command's deliverAfter is an
    /// outage of its own; the command then expires, as one past its expiry, rather than being scanned further.
    /// </summary>
    public const int MaxScanMinutes = 1440;

    /// <summary>The minute (since the Unix epoch, UTC) a time in Unix ms falls in.</summary>
    public static long MinuteOf(long ms) => Math.Max(0, ms) / MinuteMs;

    /// <summary>The minutes a command may go out in: from its deliverAfter's to the last that starts before its expiresAt (at most a day on).</summary>
    public static MinuteRequest Request(RateLimitSpec limit, InterventionCommand command)
    {
        var from = MinuteOf(command.DeliverAfter.ToUnixTimeMilliseconds());
        var last = (command.ExpiresAt.ToUnixTimeMilliseconds() - 1) / MinuteMs;
        // The command's own minute is always asked for: pacing only ever delays what would otherwise be sent.
        return new MinuteRequest(limit.Channel, limit.PerMinute, from, Math.Clamp(last, from, from + MaxScanMinutes - 1));
    }
}

/// <summary>
/// A waiting entry's wait for its delivery minute (<see cref="State.WaitingDelivery.Awaiting"/>): the command it is in its own
/// minute, and whether it was decided before (a waiting entry woken at its slot) or is a candidate whose decision comes with
/// the minute (then <see cref="ScheduleReason"/> and <see cref="Delivery"/> are what that decision says). In memory only: the
/// pace stage settles every wait in the batch that made it.
/// </summary>
public sealed record MinuteWait(InterventionCommand Command, bool Decided, string? ScheduleReason = null, DeliveryChoice? Delivery = null)
{
    /// <summary>A bandit gave the user this arm when it was proposed: its first decision says so (<see cref="Decision.Assigned"/>).</summary>
    public bool Assigned { get; init; }
}
