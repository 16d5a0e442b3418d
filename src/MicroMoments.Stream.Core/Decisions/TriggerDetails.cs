using System.Globalization;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// Trigger details (<c>{{trigger.*}}</c>): from an event, and through a timer, which keeps them as text. The names of
/// numbers and booleans go under <see cref="LiteralsKey"/>, so the details keep their JSON types when the timer fires.
/// </summary>
internal static class TriggerDetails
{
    /// <summary>In a timer's stored details: the names, one a line, whose values were JSON numbers or booleans.</summary>
    public const string LiteralsKey = "~literals";

    /// <summary>An event's properties as trigger details: matched by <see cref="PropertyNames"/>, numbers and booleans kept as such.</summary>
    public static Dictionary<string, object> Of(ClickEvent e)
    {
        var d = new Dictionary<string, object>(e.Properties.Count + 2, PropertyNames.Comparer);
        foreach (var (k, v) in e.Properties)
        {
            d[k] = e.PropertyValue(k, v);
        }
        return d;
    }

    /// <summary>A timer's stored details as trigger details (see <see cref="LiteralsKey"/>).</summary>
    public static Dictionary<string, object> Restore(IReadOnlyDictionary<string, string>? stored)
    {
        var d = new Dictionary<string, object>(PropertyNames.Comparer);
        if (stored is null)
        {
            return d;
        }
        var literals = stored.GetValueOrDefault(LiteralsKey)?.Split('\n');
        foreach (var (k, v) in stored)
        {
            if (k != LiteralsKey)
            {
                d[k] = literals is not null && literals.Contains(k, StringComparer.Ordinal) && JsonLiteral.TryCreate(v) is { } literal ? literal : v;
            }
        }
        return d;
    }

    /// <summary>An event's properties as a timer keeps them, without values too long to store (counted).</summary>
    public static Dictionary<string, string> Store(ClickEvent e, StateLimits limits, Evaluation result) =>
        Store(e.Properties.Select(p => (p.Key, p.Value, e.Literals?.Contains(p.Key) == true)), limits, result);

    /// <summary>Trigger details (text, <see cref="JsonLiteral"/>, or a count, metric value or flag) as a timer keeps them.</summary>
    public static Dictionary<string, string> Store(IReadOnlyDictionary<string, object> details, StateLimits limits, Evaluation result) =>
        Store(details.Select(d => StoredValue(d.Key, d.Value)), limits, result);

    /// <summary>Numbers and booleans the engine puts in details (<c>count</c>, <c>value</c>) stay JSON-typed through a timer.</summary>
    private static (string Name, string Value, bool Literal) StoredValue(string name, object value) => value switch
    {
        JsonLiteral l => (name, l.Text, true),
        bool b => (name, b ? "true" : "false", true),
        int or long or decimal => (name, Convert.ToString(value, CultureInfo.InvariantCulture)!, true),
        double d => (name, d.ToString("R", CultureInfo.InvariantCulture), double.IsFinite(d)),
        _ => (name, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", false),
    };

    private static Dictionary<string, string> Store(IEnumerable<(string Name, string Value, bool Literal)> properties, StateLimits limits, Evaluation result)
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        string? literals = null;
        foreach (var (k, v, literal) in properties)
        {
            if (k.Length > limits.MaxStringLength || v.Length > limits.MaxStringLength)
            {
                result.IgnoredValues++;
                continue;
            }
            details[k] = v;
            if (literal && !k.Contains('\n', StringComparison.Ordinal))
            {
                literals = literals is null ? k : $"{literals}\n{k}";
            }
        }
        if (literals is not null && literals.Length <= limits.MaxStringLength)
        {
            details[LiteralsKey] = literals;
        }
        return details;
    }
}
