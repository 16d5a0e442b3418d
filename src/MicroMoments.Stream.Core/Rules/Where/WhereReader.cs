using System.Globalization;
using System.Text.RegularExpressions;
using MicroMoments.Stream.Core.Events;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Where;

/// <summary>Reads a <c>where</c> mapping, reporting unknown roots, unknown operators and bad patterns with their lines.</summary>
internal static class WhereReader
{
    private static readonly Dictionary<string, WhereOperator> Operators = new(StringComparer.Ordinal)
    {
        ["equals"] = WhereOperator.Equals, ["in"] = WhereOperator.In, ["notIn"] = WhereOperator.NotIn,
        ["lt"] = WhereOperator.Lt, ["lte"] = WhereOperator.Lte, ["gt"] = WhereOperator.Gt, ["gte"] = WhereOperator.Gte,
        ["exists"] = WhereOperator.Exists, ["prefix"] = WhereOperator.Prefix, ["regex"] = WhereOperator.Regex,
    };

    public static WhereFilter Read(NodeReader r, YamlMappingNode owner, string id)
    {
        if (r.Map(owner, "where") is not { } map)
        {
            return WhereFilter.None;
        }
        var clauses = new List<WhereClause>();
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } written })
            {
                r.Error(k, $"rule '{id}': a where key is a name such as name, properties.plan or user.traits.plan");
                continue;
            }
            if (WhereKeys.Canonical(written, out var problem) is not { } key)
            {
                r.Error(k, $"rule '{id}': {problem}");
                continue;
            }
            switch (v)
            {
                case YamlScalarNode scalar:
                    clauses.Add(Clause(key, WhereOperator.Equals, [scalar.Value ?? ""], null));
                    break;
                case YamlMappingNode ops:
                    foreach (var (opNode, operand) in ops.Children)
                    {
                        var opName = (opNode as YamlScalarNode)?.Value ?? "";
                        if (!Operators.TryGetValue(opName, out var op))
                        {
                            r.Error(opNode, $"rule '{id}': unknown where operator '{opName}' for '{written}' (expected one of: {string.Join(", ", Operators.Keys)})");
                            continue;
                        }
                        if (ReadClause(r, key, written, op, opName, operand, id) is { } clause)
                        {
                            clauses.Add(clause);
                        }
                    }
                    break;
                default:
                    r.Error(v, $"rule '{id}': where '{written}' takes a value or an operator such as {{ in: [a, b] }}, not a list");
                    break;
            }
        }
        return clauses.Count == 0 ? WhereFilter.None : new WhereFilter(clauses);
    }

    private static WhereClause? ReadClause(NodeReader r, string key, string written, WhereOperator op, string opName, YamlNode operand, string id)
    {
        if (op is WhereOperator.In or WhereOperator.NotIn)
        {
            if (operand is YamlSequenceNode seq && seq.All(x => x is YamlScalarNode) && seq.Children.Count > 0)
            {
                return Clause(key, op, [.. seq.Cast<YamlScalarNode>().Select(x => x.Value ?? "")], null);
            }
            r.Error(operand, $"rule '{id}': where '{written}' {opName} takes a non-empty list like [a, b]");
            return null;
        }
        if (operand is not YamlScalarNode { Value: { } text })
        {
            r.Error(operand, $"rule '{id}': where '{written}' {opName} takes a single value");
            return null;
        }
        if (text.Length > RulesFileLimits.MaxTemplateLength)
        {
            r.Error(operand, $"rule '{id}': a where value is longer than {RulesFileLimits.MaxTemplateLength} characters");
            return null;
        }
        switch (op)
        {
            case WhereOperator.Lt or WhereOperator.Lte or WhereOperator.Gt or WhereOperator.Gte
                when !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _):
                r.Error(operand, $"rule '{id}': where '{written}' {opName} takes a number, not '{text}'");
                return null;
            case WhereOperator.Exists when text is not ("true" or "false"):
                r.Error(operand, $"rule '{id}': where '{written}' exists takes true or false, not '{text}'");
                return null;
            case WhereOperator.Regex:
                try
                {
                    return Clause(key, op, [text], new Regex(text, RegexOptions.CultureInvariant, WhereClause.RegexBudget));
                }
                catch (ArgumentException ex)
                {
                    r.Error(operand, $"rule '{id}': where '{written}' regex '{text}' is not a valid pattern: {ex.Message}");
                    return null;
                }
            default:
                return Clause(key, op, [text], null);
        }
    }

    private static WhereClause Clause(string key, WhereOperator op, IReadOnlyList<string> operands, Regex? pattern) => new()
    {
        Key = key,
        Operator = op,
        Operands = key == WhereKeys.Event && op is WhereOperator.Equals or WhereOperator.In or WhereOperator.NotIn
            ? [.. operands.Select(EventNames.Normalize)]
            : operands,
        Pattern = pattern,
    };
}
