namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The population's usual completion time per task, for the efficiency-seeker archetype: the median of the users'
/// first completion of the task, one vote per user, so no user can outweigh another and one absurd time cannot move
/// it. Votes are counted in buckets a quarter of a doubling wide (±9 %), integers that any number of instances can
/// add up. Only the consume loop (or <c>simulate</c>) touches it, so it needs no locks. The worker flushes
/// <see cref="TakePending"/> to a shared Redis hash and reloads the totals, so instances converge.
/// </summary>
public sealed class PopulationBaseline(int maxTasks = 1000)
{
    /// <summary>Fewer votes than this and a task has no usual time yet.</summary>
    public const int MinSamples = 5;

    /// <summary>Bucket b holds durations around 2^(b/4) ms: 0 is 1 ms, the last about 39 days.</summary>
    public const int Buckets = 128;

    private Dictionary<string, long[]> _totals = new(StringComparer.Ordinal);
    private Dictionary<string, Dictionary<int, long>> _pending = new(StringComparer.Ordinal);

    /// <summary>The most distinct tasks it counts; votes for further tasks are refused.</summary>
    public int MaxTasks { get; } = maxTasks;

    /// <summary>Votes refused because <see cref="MaxTasks"/> tasks were known, since start.</summary>
    public long Refused { get; private set; }

    /// <summary>Distinct tasks it knows.</summary>
    public int TaskCount => _totals.Count;

    public static int Bucket(double ms) => (int)Math.Clamp(Math.Round(4 * Math.Log2(Math.Max(ms, 1))), 0, Buckets - 1);

    public static double BucketMs(int bucket) => Math.Round(Math.Pow(2, bucket / 4.0));

    /// <summary>The median vote, or null with fewer than <see cref="MinSamples"/> votes.</summary>
    public double? UsualMs(string task)
    {
        if (!_totals.TryGetValue(task, out var counts))
        {
            return null;
        }
        long n = 0;
        foreach (var c in counts)
        {
            n += c;
        }
        if (n < MinSamples)
        {
            return null;
        }
        long seen = 0;
        for (var b = 0; b < Buckets; b++)
        {
            seen += counts[b];
            if (2 * seen >= n + 1)
            {
                return BucketMs(b);
            }
        }
        return null;
    }

    /// <summary>Counts a user's vote; false (nothing counted) when the task is new and <see cref="MaxTasks"/> are known.</summary>
    public bool Observe(string task, double ms)
    {
        if (!_totals.TryGetValue(task, out var counts))
        {
            if (_totals.Count >= MaxTasks)
            {
                Refused++;
                return false;
            }
            _totals[task] = counts = new long[Buckets];
        }
        var bucket = Bucket(ms);
        counts[bucket]++;
        if (!_pending.TryGetValue(task, out var pending))
        {
            _pending[task] = pending = [];
        }
        pending[bucket] = pending.GetValueOrDefault(bucket) + 1;
        return true;
    }

    /// <summary>The votes since the last call (task → bucket → count), to add to the shared totals.</summary>
    public IReadOnlyDictionary<string, Dictionary<int, long>> TakePending()
    {
        var pending = _pending;
        _pending = new Dictionary<string, Dictionary<int, long>>(StringComparer.Ordinal);
        return pending;
    }

    /// <summary>Replaces the totals with the shared ones (task → bucket → count), keeping what is not flushed yet.</summary>
    public void Load(IReadOnlyDictionary<string, Dictionary<int, long>> shared)
    {
        var totals = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var source in new[] { shared, _pending })
        {
            foreach (var (task, buckets) in source)
            {
                if (!totals.TryGetValue(task, out var counts))
                {
                    totals[task] = counts = new long[Buckets];
                }
                foreach (var (b, c) in buckets)
                {
                    if (b is >= 0 and < Buckets && c > 0)
                    {
                        counts[b] += c;
                    }
                }
            }
        }
        _totals = totals;
    }
}
