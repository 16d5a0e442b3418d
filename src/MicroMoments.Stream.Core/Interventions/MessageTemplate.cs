using System.Text;
using System.Text.RegularExpressions;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// Fills <c>{{path}}</c> placeholders in rule messages. <c>{{path | label}}</c> looks the value up in the
/// rules file's <c>labels</c> (or makes it readable: <c>notifications-setup</c> → <c>notifications setup</c>);
/// <c>{{path ?? text}}</c> gives a fallback when the value is missing.
/// </summary>
public static partial class MessageTemplate
{
    [GeneratedRegex(@"\{\{\s*(?<path>[A-Za-z0-9_.\-]+)\s*(?:\|\s*(?<filter>[a-z]+)\s*)?(?:\?\?\s*(?<fallback>[^}]*?)\s*)?\}\}")]
    private static partial Regex Placeholder();

    public static string Render(string template, Func<string, string?> lookup, IReadOnlyDictionary<string, string> labels)
    {
        if (!template.Contains("{{", StringComparison.Ordinal))
        {
            return template;
        }
        return Placeholder().Replace(template, m =>
        {
            var value = lookup(m.Groups["path"].Value);
            if (value is not null && m.Groups["filter"].Value == "label")
            {
                value = labels.TryGetValue(value, out var l) ? l : Humanize(value);
            }
            return value ?? (m.Groups["fallback"].Success ? m.Groups["fallback"].Value : "");
        });
    }

    private static string Humanize(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            sb.Append(c is '-' or '_' ? ' ' : c);
        }
        return sb.ToString();
    }
}
