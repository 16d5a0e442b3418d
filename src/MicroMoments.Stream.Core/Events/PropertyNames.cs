namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// Property-name matching (docs/wire-formats.md), as for event names: case-insensitive, and '_', '-', '.' and spaces
/// are ignored, so <c>cart_id</c>, <c>cartId</c> and <c>CartId</c> name one property. Used as the key comparer of
/// every property map, so a rule, a template or a trigger's <c>per</c> finds a property whichever way it was spelt,
/// at the cost of one hash per lookup and no copy of the name.
/// </summary>
public sealed class PropertyNames : IEqualityComparer<string>
{
    public static readonly PropertyNames Comparer = new();

    private PropertyNames()
    {
    }

    public bool Equals(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }
        if (x is null || y is null)
        {
            return false;
        }
        int i = 0, j = 0;
        while (true)
        {
            while (i < x.Length && IsSeparator(x[i]))
            {
                i++;
            }
            while (j < y.Length && IsSeparator(y[j]))
            {
                j++;
            }
            if (i == x.Length || j == y.Length)
            {
                return i == x.Length && j == y.Length;
            }
            if (Fold(x[i]) != Fold(y[j]))
            {
                return false;
            }
            i++;
            j++;
        }
    }

    public int GetHashCode(string obj)
    {
        var hash = new HashCode();
        foreach (var c in obj)
        {
            if (!IsSeparator(c))
            {
                hash.Add(Fold(c));
            }
        }
        return hash.ToHashCode();
    }

    private static bool IsSeparator(char c) => c is '_' or '-' or '.' or ' ';

    private static char Fold(char c) => c < 128 ? (c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c) : char.ToLowerInvariant(c);
}
