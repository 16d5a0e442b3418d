using System.Globalization;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Decisions;

/// <summary>Evaluates a rule's <c>when</c> conditions. Operands may hold placeholders (<c>{{event.totalSteps}}</c>).</summary>
public static class ConditionEvaluator
{
    public static bool AllHold(IReadOnlyList<Condition> conditions, ValueContext context)
    {
        foreach (var c in conditions)
        {
            if (!Holds(c, context))
            {
                return false;
            }
        }
        return true;
    }

    public static bool Holds(Condition c, ValueContext context)
    {
        if (c.Did is { } did)
        {
            return did.Holds(context.State, context.Now) != (c.Operator == "not");
        }
        var value = ValuePaths.Resolve(c.Path, context);
        var operands = c.Operands.Select(o => MessageTemplate.Render(o, p => ValuePaths.Resolve(p, context), context.Rules.Labels)).ToList();
        return c.Operator switch
        {
            "exists" => (value is not null) == !string.Equals(operands[0], "false", StringComparison.OrdinalIgnoreCase),
            "equals" => value is not null && Same(value, operands[0]),
            "notEquals" => value is null || !Same(value, operands[0]),
            "in" => value is not null && operands.Any(o => Same(value, o)),
            "notIn" => value is null || !operands.Any(o => Same(value, o)),
            "lt" => Compare(value, operands[0]) is < 0,
            "lte" => Compare(value, operands[0]) is <= 0,
            "gt" => Compare(value, operands[0]) is > 0,
            "gte" => Compare(value, operands[0]) is >= 0,
            _ => false,
        };
    }

    /// <summary>Equal as numbers when both are numbers, else as text case-insensitively (<c>where</c> compares the same way).</summary>
    internal static bool Same(string a, string b) =>
        Number(a) is { } x && Number(b) is { } y ? x == y : string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>The order of two numbers; null when either is not a number.</summary>
    internal static int? Compare(string? a, string b) =>
        Number(a) is { } x && Number(b) is { } y ? x.CompareTo(y) : null;

    private static double? Number(string? s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
}
