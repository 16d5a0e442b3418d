using System.Text;

namespace MicroMoments.Stream.Core.Events;

/// <summary>Event-name matching (docs/wire-formats.md): case-insensitive, and snake_case equals Title Case.</summary>
public static class EventNames
{
    public const string SignedUp = "signed up";
    public const string FeatureUsed = "feature used";

    /// <summary>Lower-cases and folds '_', '-', '.' and runs of white space into one space.</summary>
    public static string Normalize(string name)
    {
        var sb = new StringBuilder(name.Length);
        var pendingSpace = false;
        foreach (var c in name)
        {
            if (c is '_' or '-' or '.' || char.IsWhiteSpace(c))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
