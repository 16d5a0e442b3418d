using System.Globalization;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>Typed reads from YAML nodes that record errors instead of throwing.</summary>
internal sealed class NodeReader(List<RuleError> errors)
{
    public int ErrorCount => errors.Count;

    /// <summary>The kind of the rule being read when a timer fires it, with no event to read <c>event.*</c> from.</summary>
    public string? FiresWithoutEvent { get; set; }

    public string? PathProblem(string path) =>
        ValuePaths.Problem(path)
        ?? (FiresWithoutEvent is { } kind && path.StartsWith("event.", StringComparison.Ordinal)
            ? $"'{path}' has no value in a {kind} rule, which fires on a timer with no event; use trigger.* (the timer's details)"
            : null);

    public void Error(YamlNode at, string message) => errors.Add(new RuleError(Line(at), message));

    public static int Line(YamlNode n) => (int)n.Start.Line;

    public YamlNode? Child(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public void Known(YamlMappingNode m, params string[] keys)
    {
        foreach (var k in m.Children.Keys)
        {
            if (k is YamlScalarNode { Value: { } name } && !keys.Contains(name, StringComparer.Ordinal))
            {
                Error(k, $"unknown key '{name}' (expected one of: {string.Join(", ", keys)})");
            }
        }
    }

    public string? String(YamlMappingNode m, string key)
    {
        var v = Child(m, key);
        if (v is null)
        {
            return null;
        }
        if (v is YamlScalarNode s)
        {
            return s.Value;
        }
        Error(v, $"'{key}' must be a single value");
        return null;
    }

    /// <summary>A message template; bounded because every message renders it.</summary>
    public string? Template(YamlMappingNode m, string key)
    {
        var s = String(m, key);
        if (s is { Length: > RulesFileLimits.MaxTemplateLength })
        {
            Error(Child(m, key)!, $"'{key}' is {s.Length} characters; a template may have at most {RulesFileLimits.MaxTemplateLength}");
        }
        else if (s is not null)
        {
            CheckPlaceholders(Child(m, key)!, key, s);
        }
        return s;
    }

    /// <summary>
    /// A placeholder that can never resolve would render its fallback, or nothing, in every message: a typo found
    /// here rather than by users.
    /// </summary>
    public void CheckPlaceholders(YamlNode at, string key, string template)
    {
        foreach (var (path, filter) in MessageTemplate.Placeholders(template))
        {
            if (PathProblem(path) is { } problem)
            {
                Error(at, $"'{key}': {{{{{path}}}}}: {problem}");
            }
            if (filter.Length > 0 && !MessageTemplate.Filters.Contains(filter, StringComparer.Ordinal))
            {
                Error(at, $"'{key}': {{{{{path} | {filter}}}}}: unknown filter '{filter}' (known: {string.Join(", ", MessageTemplate.Filters)})");
            }
        }
    }

    public int? Int(YamlMappingNode m, string key)
    {
        var s = String(m, key);
        if (s is null)
        {
            return null;
        }
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
        {
            return i;
        }
        Error(Child(m, key)!, $"'{key}' must be a whole number, not '{s}'");
        return null;
    }

    public double? Double(YamlMappingNode m, string key)
    {
        var s = String(m, key);
        if (s is null)
        {
            return null;
        }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        Error(Child(m, key)!, $"'{key}' must be a number, not '{s}'");
        return null;
    }

    public IReadOnlyList<string> StringList(YamlMappingNode m, string key)
    {
        var v = Child(m, key);
        if (v is null)
        {
            return [];
        }
        if (v is YamlSequenceNode seq && seq.All(x => x is YamlScalarNode))
        {
            return seq.Cast<YamlScalarNode>().Select(x => x.Value ?? "").ToList();
        }
        Error(v, $"'{key}' must be a list of names");
        return [];
    }

    public bool? Bool(YamlMappingNode m, string key)
    {
        var s = String(m, key);
        if (s is null)
        {
            return null;
        }
        if (bool.TryParse(s, out var b))
        {
            return b;
        }
        Error(Child(m, key)!, $"'{key}' must be true or false, not '{s}'");
        return null;
    }

    public TimeSpan Duration(YamlMappingNode m, string key, bool required)
    {
        var s = String(m, key);
        if (s is null)
        {
            if (required)
            {
                Error(m, $"'{key}' is required: a duration such as 90s, 10m, 48h, 7d or PT10M");
            }
            return TimeSpan.Zero;
        }
        if (Durations.TryParse(s, out var d, out var why))
        {
            return d;
        }
        Error(Child(m, key)!, $"'{key}': '{s}' {why}");
        return TimeSpan.Zero;
    }

    public YamlMappingNode? Map(YamlMappingNode m, string key)
    {
        var v = Child(m, key);
        if (v is null or YamlMappingNode)
        {
            return (YamlMappingNode?)v;
        }
        Error(v, $"'{key}' must be a mapping");
        return null;
    }

    public IReadOnlyDictionary<string, string> StringMap(YamlMappingNode m, string key)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Map(m, key) is { } map)
        {
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode { Value: { } name } && v is YamlScalarNode { Value: { } value })
                {
                    result[name] = value;
                }
                else
                {
                    Error(k, $"'{key}' entries must be simple name: value pairs");
                }
            }
        }
        return result;
    }
}
