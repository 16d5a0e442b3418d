namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// The population's usual completion time per task (mean of <c>durationMs</c>), for the efficiency-seeker
/// archetype. Only the consume loop (or <c>simulate</c>) touches it, so it needs no locks. The worker
/// flushes <see cref="TakePending"/> to a shared Redis hash and reloads the totals, so instances converge.
/// </summary>
public sealed class PopulationBaseline
{
    /// <summary>Fewer samples than this and a task has no usual time yet.</summary>
    public const int MinSamples = 5;

    private Dictionary<string, (double Sum, long Count)> _totals = new(StringComparer.Ordinal);
    private Dictionary<string, (double Sum, long Count)> _pending = new(StringComparer.Ordinal);

    public double? UsualMs(string task) =>
        _totals.TryGetValue(task, out var t) && t.Count >= MinSamples ? t.Sum / t.Count : null;

    public void Observe(string task, double ms)
    {
        Add(_totals, task, ms, 1);
        Add(_pending, task, ms, 1);
    }

    /// <summary>The observations since the last call, to add to the shared totals.</summary>
    public IReadOnlyDictionary<string, (double Sum, long Count)> TakePending()
    {
        var pending = _pending;
        _pending = new Dictionary<string, (double Sum, long Count)>(StringComparer.Ordinal);
        return pending;
    }

    /// <summary>Replaces the totals with the shared ones, keeping what is not flushed yet.</summary>
    public void Load(IReadOnlyDictionary<string, (double Sum, long Count)> shared)
    {
        var totals = new Dictionary<string, (double Sum, long Count)>(shared, StringComparer.Ordinal);
        foreach (var (task, p) in _pending)
        {
            Add(totals, task, p.Sum, p.Count);
        }
        _totals = totals;
    }

    private static void Add(Dictionary<string, (double Sum, long Count)> map, string task, double sum, long count)
    {
        var t = map.GetValueOrDefault(task);
        map[task] = (t.Sum + sum, t.Count + count);
    }
}
