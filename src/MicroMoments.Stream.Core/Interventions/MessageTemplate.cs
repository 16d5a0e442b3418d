using System.Text;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// Fills <c>{{path}}</c> placeholders in rule messages. <c>{{path | label}}</c> looks the value up in the
/// rules file's <c>labels</c> (or makes it readable: <c>notifications-setup</c> → <c>notifications setup</c>);
/// <c>{{path ?? text}}</c> gives a fallback when the value is missing.
/// </summary>
/// <remarks>
/// A hand-written scanner rather than a regular expression: the pattern's optional spaces around a lazy fallback
/// backtracked in cubic time (<c>{{a ?? </c> and 4,000 spaces took 20 s per message). Every character is looked at
/// a bounded number of times, so rendering is linear in the template and the values.
/// </remarks>
public static class MessageTemplate
{
    public static string Render(string template, Func<string, string?> lookup, IReadOnlyDictionary<string, string> labels) =>
        Render(template, lookup, labels, urlEncode: false);

    /// <summary>
    /// For a URL field: every value from the event or the state is percent-encoded, so user text cannot change the
    /// URL's host, path or query (<c>"/../../@evil.example?a=1#</c>). The template's own text and fallbacks are
    /// the rule author's and stay as written.
    /// </summary>
    public static string RenderUrl(string template, Func<string, string?> lookup, IReadOnlyDictionary<string, string> labels) =>
        Render(template, lookup, labels, urlEncode: true);

    private static string Render(string template, Func<string, string?> lookup, IReadOnlyDictionary<string, string> labels, bool urlEncode)
    {
        var open = template.IndexOf("{{", StringComparison.Ordinal);
        if (open < 0)
        {
            return template;
        }
        var sb = new StringBuilder(template.Length);
        var copied = 0;
        var braces = new CloseBraceFinder(template);
        while (open >= 0)
        {
            if (TryMatch(template, open, ref braces) is { } p)
            {
                sb.Append(template, copied, open - copied);
                var value = lookup(p.Path);
                if (value is not null && p.Filter == "label")
                {
                    value = labels.TryGetValue(value, out var l) ? l : Humanize(value);
                }
                if (value is not null)
                {
                    sb.Append(urlEncode ? Uri.EscapeDataString(value) : value);
                }
                else if (p.Fallback is { } f)
                {
                    sb.Append(template, f.Start, f.Length);
                }
                copied = p.End;
                open = template.IndexOf("{{", copied, StringComparison.Ordinal);
            }
            else
            {
                open = template.IndexOf("{{", open + 1, StringComparison.Ordinal);
            }
        }
        return sb.Append(template, copied, template.Length - copied).ToString();
    }

    /// <summary>The filters a placeholder may name.</summary>
    public static readonly IReadOnlyList<string> Filters = ["label"];

    /// <summary>The placeholders <see cref="Render(string, Func{string, string?}, IReadOnlyDictionary{string, string})"/> would fill, in order, with their filter ("" for none). Linear, like rendering.</summary>
    public static List<(string Path, string Filter)> Placeholders(string template)
    {
        var found = new List<(string, string)>();
        var braces = new CloseBraceFinder(template);
        var open = template.IndexOf("{{", StringComparison.Ordinal);
        while (open >= 0)
        {
            if (TryMatch(template, open, ref braces) is { } p)
            {
                found.Add((p.Path, p.Filter));
                open = template.IndexOf("{{", p.End, StringComparison.Ordinal);
            }
            else
            {
                open = template.IndexOf("{{", open + 1, StringComparison.Ordinal);
            }
        }
        return found;
    }

    private readonly record struct Placeholder(string Path, string Filter, (int Start, int Length)? Fallback, int End);

    /// <summary>
    /// Matches <c>{{ path [| filter] [?? fallback] }}</c> at <paramref name="at"/>, as the former pattern
    /// <c>\{\{\s*([A-Za-z0-9_.\-]+)\s*(?:\|\s*([a-z]+)\s*)?(?:\?\?\s*([^}]*?)\s*)?\}\}</c> did.
    /// </summary>
    private static Placeholder? TryMatch(string t, int at, ref CloseBraceFinder braces)
    {
        var i = SkipSpace(t, at + 2);
        var pathStart = i;
        while (i < t.Length && IsPathChar(t[i]))
        {
            i++;
        }
        if (i == pathStart)
        {
            return null;
        }
        var path = t[pathStart..i];
        i = SkipSpace(t, i);
        var filter = "";
        if (i < t.Length && t[i] == '|')
        {
            var j = SkipSpace(t, i + 1);
            var filterStart = j;
            while (j < t.Length && t[j] is >= 'a' and <= 'z')
            {
                j++;
            }
            // Without a name the '|' is not a filter, and then nothing but '??' or '}}' may follow.
            if (j > filterStart)
            {
                filter = t[filterStart..j];
                i = SkipSpace(t, j);
            }
        }
        (int, int)? fallback = null;
        if (string.CompareOrdinal(t, i, "??", 0, 2) == 0)
        {
            // The fallback runs to the first '}' (it cannot contain one), less trailing space, and '}}' must follow.
            var start = SkipSpace(t, i + 2);
            var (close, trimmedEnd) = braces.From(start);
            if (close < 0 || close + 1 >= t.Length || t[close + 1] != '}')
            {
                return null;
            }
            var end = Math.Max(start, trimmedEnd);
            fallback = (start, end - start);
            return new Placeholder(path, filter, fallback, close + 2);
        }
        return i + 1 < t.Length && t[i] == '}' && t[i + 1] == '}' ? new Placeholder(path, filter, fallback, i + 2) : null;
    }

    /// <summary>
    /// The first '}' at or after a position, with the end of the text before it less trailing space. Cached,
    /// because unclosed placeholders one after another would otherwise each scan to the same brace.
    /// </summary>
    private struct CloseBraceFinder(string text)
    {
        private int _searchedFrom = int.MaxValue;
        private int _close = -1;
        private int _trimmedEnd;

        public (int Close, int TrimmedEnd) From(int start)
        {
            if (start < _searchedFrom || start > _close || _close < 0)
            {
                if (_close < 0 && start >= _searchedFrom)
                {
                    return (-1, 0);
                }
                _searchedFrom = start;
                _close = text.IndexOf('}', start);
                var e = _close;
                while (e > start && char.IsWhiteSpace(text[e - 1]))
                {
                    e--;
                }
                _trimmedEnd = e;
            }
            return (_close, _trimmedEnd);
        }
    }

    private static int SkipSpace(string t, int i)
    {
        while (i < t.Length && char.IsWhiteSpace(t[i]))
        {
            i++;
        }
        return i;
    }

    private static bool IsPathChar(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-';

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
