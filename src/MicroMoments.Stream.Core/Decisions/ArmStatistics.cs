namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// What the bandit knows of each arm: commands sent and conversions, per rule and variant. A process counts what it decides
/// (<see cref="Observe"/>); the worker pushes that to Redis and takes every instance's totals back every few seconds
/// (<see cref="TakePending"/>, <see cref="Load"/>), as the population baseline is shared; <c>simulate</c>, alone, adds it to its
/// totals at once (<see cref="Commit"/>), so its assignments follow from the events alone.
/// </summary>
/// <remarks>
/// Advisory, like the population baseline: a batch decided again after a crash is counted again. A few extra exposures move a
/// posterior a little; they never change an arm a user already has.
/// </remarks>
public sealed class ArmStatistics
{
    /// <summary>The metric of a conversion, as feedback counts it.</summary>
    public const string Converted = "converted";

    private readonly Lock _lock = new();
    private Dictionary<string, ArmCounts> _totals = new(StringComparer.Ordinal);
    private Dictionary<string, ArmCounts> _pending = new(StringComparer.Ordinal);

    /// <summary>Commands sent to the arm (emitted or deferred) and the conversions counted for it.</summary>
    public ArmCounts Of(string ruleId, string variant)
    {
        var key = Key(ruleId, variant);
        lock (_lock)
        {
            return _totals.GetValueOrDefault(key) + _pending.GetValueOrDefault(key);
        }
    }

    /// <summary>Counts a batch's analytics counters (rule id → "variant|metric" → count): the sent and converted ones.</summary>
    public void Observe(IReadOnlyDictionary<string, Dictionary<string, long>> counters)
    {
        lock (_lock)
        {
            foreach (var (rule, fields) in counters)
            {
                foreach (var (field, n) in fields)
                {
                    var bar = field.IndexOf('|', StringComparison.Ordinal);
                    var metric = field.AsSpan(bar + 1);
                    var counts = metric.SequenceEqual(Outcomes.Emitted) || metric.SequenceEqual(Outcomes.Deferred) ? new ArmCounts(n, 0)
                        : metric.SequenceEqual(Converted) ? new ArmCounts(0, n)
                        : default;
                    if (bar > 0 && counts != default)
                    {
                        var key = Key(rule, field[..bar]);
                        _pending[key] = _pending.GetValueOrDefault(key) + counts;
                    }
                }
            }
        }
    }

    /// <summary>What was observed since the last call ("rule|variant" → counts), to add to the shared totals.</summary>
    public Dictionary<string, ArmCounts> TakePending()
    {
        lock (_lock)
        {
            var pending = _pending;
            _pending = new(StringComparer.Ordinal);
            return pending;
        }
    }

    /// <summary>Every instance's totals ("rule|variant" → counts), with what this one pushed in them.</summary>
    public void Load(Dictionary<string, ArmCounts> totals)
    {
        lock (_lock)
        {
            _totals = totals;
        }
    }

    /// <summary>For a process that is alone (<c>simulate</c>): what was observed joins the totals.</summary>
    public void Commit()
    {
        lock (_lock)
        {
            foreach (var (key, counts) in _pending)
            {
                _totals[key] = _totals.GetValueOrDefault(key) + counts;
            }
            _pending.Clear();
        }
    }

    /// <summary>The key of an arm in <see cref="TakePending"/> and <see cref="Load"/>: rule ids and variant names hold no '|'.</summary>
    public static string Key(string ruleId, string variant) => $"{ruleId}|{variant}";
}

/// <summary>An arm's commands sent and conversions.</summary>
public readonly record struct ArmCounts(long Sent, long Converted)
{
    public static ArmCounts operator +(ArmCounts a, ArmCounts b) => new(a.Sent + b.Sent, a.Converted + b.Converted);

    /// <summary>
    /// The counts a Beta posterior can take: sent at least 0 and conversions between 0 and sent. Shared counts come from Redis,
    /// where a hand-edited or forged field can hold anything; a negative one would make every draw of the rule throw.
    /// </summary>
    public ArmCounts Bounded
    {
        get
        {
            var sent = Math.Max(0, Sent);
            return new(sent, Math.Clamp(Converted, 0, sent));
        }
    }
}
