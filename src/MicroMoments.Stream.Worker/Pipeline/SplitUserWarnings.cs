namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// The users already reported as split across partitions, so each is logged once: at most <paramref name="capacity"/>
/// ids, the oldest forgotten first (a forgotten user found split again is reported again). Thread-safe.
/// </summary>
public sealed class SplitUserWarnings(int capacity)
{
    /// <summary>Enough for a misconfigured producer's first burst of new users, at a few hundred kB.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count
    {
        get
        {
            lock (_warned)
            {
                return _warned.Count;
            }
        }
    }

    /// <summary>True the first time a user is seen (or the first time since it was forgotten): warn now.</summary>
    public bool ShouldWarn(string userId)
    {
        lock (_warned)
        {
            if (!_warned.Add(userId))
            {
                return false;
            }
            _order.Enqueue(userId);
            if (_order.Count > capacity)
            {
                _warned.Remove(_order.Dequeue());
            }
            return true;
        }
    }
}
