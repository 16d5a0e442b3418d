using System.Text.RegularExpressions;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Rules.Where;

/// <summary>How a <c>where</c> entry compares the value its key addresses (docs/rules.md, "<c>where</c>").</summary>
public enum WhereOperator
{
    Equals, In, NotIn, Lt, Lte, Gt, Gte, Exists, Prefix, Regex,
}

/// <summary>
/// One test of a <c>where</c>: the value <see cref="Key"/> addresses on an event (or its user), compared by
/// <see cref="Operator"/>. Keys are canonical: <c>event</c>, <c>name</c>, <c>properties.*</c>, <c>context.*</c> or <c>user.*</c>.
/// </summary>
public sealed class WhereClause
{
    /// <summary>The most a <c>regex</c> may spend on one value; a match that runs out counts as no match.</summary>
    public static readonly TimeSpan RegexBudget = TimeSpan.FromMilliseconds(10);

    public required string Key { get; init; }

    public required WhereOperator Operator { get; init; }

    /// <summary>The operands as written; for <c>event</c>'s equality tests, normalised (<see cref="EventNames.Normalize"/>).</summary>
    public required IReadOnlyList<string> Operands { get; init; }

    /// <summary>The <c>regex</c>, compiled once when the rules load.</summary>
    public Regex? Pattern { get; init; }

    /// <summary>Whether the clause holds for <paramref name="e"/>; <c>user.*</c> reads <paramref name="state"/> at the event's time.</summary>
    public bool Holds(ClickEvent e, UserState state)
    {
        var value = Resolve(e, state);
        return Operator switch
        {
            WhereOperator.Exists => (value is not null) == (Operands[0] == "true"),
            WhereOperator.Equals or WhereOperator.In => value is not null && AnySame(value),
            WhereOperator.NotIn => value is null || !AnySame(value),
            WhereOperator.Lt => Compare(value) is < 0,
            WhereOperator.Lte => Compare(value) is <= 0,
            WhereOperator.Gt => Compare(value) is > 0,
            WhereOperator.Gte => Compare(value) is >= 0,
            WhereOperator.Prefix => value is not null && value.StartsWith(Operands[0], StringComparison.OrdinalIgnoreCase),
            WhereOperator.Regex => value is not null && Matches(value),
            _ => false,
        };
    }

    /// <summary>The value the key addresses, or null when the event (or user) has none.</summary>
    private string? Resolve(ClickEvent e, UserState state)
    {
        if (Key == WhereKeys.Event)
        {
            // Equality compares the normalised name, so that task_failed equals Task Failed as it does in 'event:'.
            return Operator is WhereOperator.Equals or WhereOperator.In or WhereOperator.NotIn ? e.Key : e.Name;
        }
        if (Key == WhereKeys.Name)
        {
            return e.IsView ? e.ViewName : e.Name;
        }
        if (Key.StartsWith(WhereKeys.Properties, StringComparison.Ordinal))
        {
            return e.Property(Key[WhereKeys.Properties.Length..]);
        }
        if (Key.StartsWith(WhereKeys.Context, StringComparison.Ordinal))
        {
            return WhereKeys.ResolveContext(Key[WhereKeys.Context.Length..], e);
        }
        return ValuePaths.ResolveUser(Key, state, e.Timestamp);
    }

    private bool AnySame(string value)
    {
        foreach (var o in Operands)
        {
            if (ConditionEvaluator.Same(value, o))
            {
                return true;
            }
        }
        return false;
    }

    private int? Compare(string? value) => ConditionEvaluator.Compare(value, Operands[0]);

    private bool Matches(string value)
    {
        try
        {
            return Pattern!.IsMatch(value);
        }
        catch (RegexMatchTimeoutException)
        {
            return false; // a pattern that backtracks on hostile input must not stall the partition: no match
        }
    }

    /// <summary>The clause as text, the same for the same test however it was written (order, case of names).</summary>
    public string Canonical()
    {
        var operands = Operator is WhereOperator.Regex ? Operands : Operands.Select(o => o.ToLowerInvariant());
        return $"{Key} {Operator.ToString().ToLowerInvariant()} {string.Join(",", operands)}";
    }
}
