namespace MicroMoments.Stream.Core.Pacing;

/// <summary>The rate ledger of one process (<c>simulate</c>, tests): deterministic, answers as the Redis ledger does.</summary>
public sealed class InMemoryRateLedger : IRateLedger
{
    private readonly Dictionary<(string Channel, long Minute), int> _counts = [];

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

    /// <summary>Drops the counts of minutes before <paramref name="minute"/>: no command can ask for them any more.</summary>
    public void ForgetBefore(long minute)
    {
        foreach (var key in _counts.Keys.Where(k => k.Minute < minute).ToList())
        {
            _counts.Remove(key);
        }
    }

    public Task<long[]> ReserveAsync(IReadOnlyList<MinuteRequest> requests, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult(Reserve(requests));
}
