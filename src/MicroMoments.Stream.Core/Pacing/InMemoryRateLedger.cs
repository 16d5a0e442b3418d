using MicroMoments.Stream.Core.Policies;

namespace MicroMoments.Stream.Core.Pacing;

/// <summary>
/// The rate ledger of one process (<c>simulate</c>, the warm-up, tests): deterministic, answers as the Redis ledger does.
/// It forgets the minutes behind the clock it is given, so a long <c>simulate</c> run keeps only the minutes still asked for.
/// </summary>
public sealed class InMemoryRateLedger : IRateLedger
{
    private readonly Dictionary<(string Channel, long Minute), int> _counts = [];
    private long _forgottenBefore;

    /// <summary>Commands counted in a channel's minute so far.</summary>
    public int CountOf(string channel, long minute) => _counts.GetValueOrDefault((channel, minute));

    /// <inheritdoc cref="IRateLedger.ReserveAsync"/>
    public long[] Reserve(IReadOnlyList<MinuteRequest> requests)
    {
        var granted = new long[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            granted[i] = -1;
            for (var m = r.FromMinute; m <= r.LastMinute; m++)
            {
                var count = _counts.GetValueOrDefault((r.Channel, m));
                if (count < r.PerMinute)
                {
                    _counts[(r.Channel, m)] = count + 1;
                    granted[i] = m;
                    break;
                }
            }
        }
        return granted;
    }

    /// <summary>Forgets the minutes before <paramref name="now"/>'s less the largest allowed lateness (at most once an hour), then reserves as <see cref="Reserve"/>.</summary>
    public Task<long[]> ReserveAsync(IReadOnlyList<MinuteRequest> requests, DateTimeOffset now, CancellationToken ct)
    {
        // A command timed by its event may ask for a minute up to the allowed lateness before the clock: those are kept.
        ForgetBefore((now - Rules.GlobalPolicies.MaxAllowedLateness).ToUnixTimeMilliseconds() / RateLimitPolicy.MinuteMs);
        return Task.FromResult(Reserve(requests));
    }

    /// <summary>
    /// Drops the counts of minutes before <paramref name="minute"/>: a command is delivered no earlier than its event's time,
    /// at most the allowed lateness before it is decided, so none asks for them any more. A scan of every count, so done only when the clock has moved an hour since the last.
    /// </summary>
    private void ForgetBefore(long minute)
    {
        if (minute - _forgottenBefore < 60)
        {
            return;
        }
        foreach (var key in _counts.Keys.Where(k => k.Minute < minute).ToList())
        {
            _counts.Remove(key);
        }
        _forgottenBefore = minute;
    }
}
