using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Rules.Where;

/// <summary>A trigger's or a <c>did</c>'s <c>where</c>: every clause must hold (docs/rules.md, "<c>where</c>").</summary>
public sealed class WhereFilter
{
    public static readonly WhereFilter None = new([]);

    public WhereFilter(IReadOnlyList<WhereClause> clauses)
    {
        Clauses = clauses;
        Canonical = string.Join(" & ", clauses.Select(c => c.Canonical()).Order(StringComparer.Ordinal));
    }

    public IReadOnlyList<WhereClause> Clauses { get; }

    public bool IsEmpty => Clauses.Count == 0;

    /// <summary>The filter as text, equal for filters that test the same (a <c>did</c>'s key in <see cref="UserState.LastSeen"/>).</summary>
    public string Canonical { get; }

    public bool Holds(ClickEvent e, UserState state)
    {
        foreach (var c in Clauses)
        {
            if (!c.Holds(e, state))
            {
                return false;
            }
        }
        return true;
    }
}
