using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>
/// Bounds on a rules file, checked on YamlDotNet's event stream before any node is built. Building nodes recurses
/// once per nesting level (100,000 nested <c>[</c> overflow the stack and kill the process), and an alias is a
/// shared node that hashing and comparing walk in full (a 400-byte alias bomb used as a key costs many seconds).
/// The event stream is read with constant stack and stops at the first limit passed.
/// </summary>
public sealed record RulesFileLimits
{
    /// <summary>The limits the command line uses, and the worker's defaults (settings <c>MicroMoments:Rules:Max*</c>).</summary>
    public static RulesFileLimits Default { get; } = new();

    /// <summary>Largest rules file, in UTF-8 bytes. The bundled rules are about 20 KB.</summary>
    public int MaxBytes { get; init; } = 1024 * 1024;

    /// <summary>Deepest nesting of mappings and lists. The rules schema needs 6.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Most nodes in the file with every alias expanded.</summary>
    public int MaxNodes { get; init; } = 100_000;

    /// <summary>Longest message template (title, body, action label or URL) and condition operand, in characters.</summary>
    public const int MaxTemplateLength = 4096;

    /// <summary>Adds an error and returns false when <paramref name="text"/> passes a limit. Never throws.</summary>
    public bool Check(string text, List<RuleError> errors)
    {
        if (text.Length > MaxBytes || Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            errors.Add(new RuleError(1, $"the rules file is larger than the limit of {MaxBytes} bytes"));
            return false;
        }
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new Stack<(string? Anchor, long NodesBefore)>();
        long nodes = 0;
        bool? more;
        while ((more = Next(parser, errors)) == true)
        {
            var e = parser.Current!;
            switch (e)
            {
                case DocumentStart:
                    anchors.Clear();
                    break;
                case Scalar s:
                    nodes++;
                    if (!s.Anchor.IsEmpty)
                    {
                        anchors[s.Anchor.Value] = 1;
                    }
                    break;
                case AnchorAlias a:
                    if (open.Any(o => o.Anchor == a.Value.Value))
                    {
                        errors.Add(new RuleError(Line(e), $"alias *{a.Value.Value} refers to a node that contains it"));
                        return false;
                    }
                    // An unknown alias counts as one node; the parser reports it afterwards.
                    nodes += anchors.GetValueOrDefault(a.Value.Value, 1);
                    break;
                case NodeEvent { NestingIncrease: > 0 } start:
                    nodes++;
                    open.Push((start.Anchor.IsEmpty ? null : start.Anchor.Value, nodes - 1));
                    if (open.Count > MaxDepth)
                    {
                        errors.Add(new RuleError(Line(e), $"lists and mappings are nested more than {MaxDepth} deep"));
                        return false;
                    }
                    break;
                case SequenceEnd or MappingEnd when open.Count > 0:
                    var (anchor, before) = open.Pop();
                    if (anchor is not null)
                    {
                        anchors[anchor] = nodes - before;
                    }
                    break;
            }
            if (nodes > MaxNodes)
            {
                errors.Add(new RuleError(Line(e), $"the file has more than {MaxNodes} values once aliases (*name) are expanded"));
                return false;
            }
        }
        return more is not null;
    }

    /// <summary>
    /// The refusal for an exception YamlDotNet throws on bad text, or null for one that must propagate. Besides
    /// <see cref="YamlException"/> (which carries the line), fuzzing found InvalidOperationException (Scanner) and
    /// ArgumentException ('Global tags must be valid URIs', 'unsupported type') on a few dozen bytes; any exception of
    /// the parser is the file's fault, so it is refused at the last line the parser reached.
    /// </summary>
    internal static RuleError? ParserError(Exception ex, IParser parser) => ex switch
    {
        OutOfMemoryException => null,
        YamlException y => new RuleError(Math.Max(1, (int)y.Start.Line), y.Message),
        _ => new RuleError(parser.Current is { } e ? Math.Max(1, (int)e.End.Line) : 1, $"the YAML cannot be read: {ex.Message}"),
    };

    /// <summary>The parser's next event: true, false at the end, null (with the error added) for text it cannot read.</summary>
    private static bool? Next(Parser parser, List<RuleError> errors)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (Exception ex) when (ParserError(ex, parser) is { } error)
        {
            errors.Add(error);
            return null;
        }
    }

    private static int Line(ParsingEvent e) => (int)e.Start.Line;
}
