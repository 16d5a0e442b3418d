using System.Text;
using System.Text.RegularExpressions;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// The README is a front page that links into docs/, and the docs link to each other by file and heading: a moved
/// section or a renamed heading must not leave a dead link behind, and no link may leave the repository.
/// </summary>
public sealed partial class DocsLinksTests
{
    /// <summary>The repository root (the folder holding the solution).</summary>
    internal static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MicroMoments.Stream.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static IEnumerable<string> MarkdownFiles() =>
        new[] { Path.Combine(Root, "README.md"), Path.Combine(Root, "deploy", "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md"))
            .Where(File.Exists);

    [Fact]
    public void MarkdownLinks_EveryRelativeLink_ResolvesToAFileInsideTheRepository()
    {
        var problems = new List<string>();
        foreach (var file in MarkdownFiles())
        {
            foreach (var (line, target) in Links(File.ReadAllText(file)))
            {
                if (IsExternal(target))
                {
                    continue;
                }
                var path = target.Split('#', 2)[0];
                if (path.Length == 0)
                {
                    continue;
                }
                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, Uri.UnescapeDataString(path)));
                if (!resolved.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    problems.Add($"{Relative(file)}:{line}: {target} points outside the repository");
                }
                else if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    problems.Add($"{Relative(file)}:{line}: {target} does not exist");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void MarkdownLinks_EveryAnchor_NamesAHeadingOfItsFile()
    {
        var problems = new List<string>();
        foreach (var file in MarkdownFiles())
        {
            foreach (var (line, target) in Links(File.ReadAllText(file)))
            {
                if (IsExternal(target) || !target.Contains('#', StringComparison.Ordinal))
                {
                    continue;
                }
                var parts = target.Split('#', 2);
                var linked = parts[0].Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, parts[0]));
                if (!linked.EndsWith(".md", StringComparison.Ordinal) || !File.Exists(linked))
                {
                    continue; // a missing file is the other test's finding
                }
                if (!Anchors(File.ReadAllText(linked)).Contains(parts[1]))
                {
                    problems.Add($"{Relative(file)}:{line}: {target}: no heading with that anchor in {Relative(linked)}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [InlineData("1.4 Producing events", "14-producing-events")]
    [InlineData("Feedback, experiments and analytics", "feedback-experiments-and-analytics")]
    [InlineData("2. Intervention commands (outbound)", "2-intervention-commands-outbound")]
    [InlineData("The `report` command", "the-report-command")]
    public void Slug_Heading_IsGitHubsAnchor(string heading, string expected) => Assert.Equal(expected, Slug(heading));

    private static bool IsExternal(string target) =>
        target.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
        || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase);

    private static string Relative(string path) => Path.GetRelativePath(Root, path);

    /// <summary>Inline links outside code blocks and code spans, with their line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string markdown)
    {
        foreach (var (number, text) in ProseLines(markdown))
        {
            foreach (Match m in LinkPattern().Matches(CodeSpan().Replace(text, "")))
            {
                yield return (number, m.Groups[1].Value);
            }
        }
    }

    /// <summary>GitHub's anchors for the file's headings: the second heading with the same slug gets "-1", and so on.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, text) in ProseLines(markdown))
        {
            var heading = HeadingPattern().Match(text);
            if (!heading.Success)
            {
                continue;
            }
            var slug = Slug(heading.Groups[1].Value);
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>GitHub's slug: lower case, punctuation dropped (a link's text kept), each space a hyphen.</summary>
    private static string Slug(string heading)
    {
        var text = LinkPattern().Replace(heading, m => m.Value[1..m.Value.IndexOf("](", StringComparison.Ordinal)]);
        var slug = new StringBuilder();
        foreach (var c in text.Trim().ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_')
            {
                slug.Append(c);
            }
            else if (c == ' ')
            {
                slug.Append('-');
            }
        }
        return slug.ToString();
    }

    /// <summary>The lines outside fenced code blocks, numbered from 1.</summary>
    private static IEnumerable<(int Number, string Text)> ProseLines(string markdown)
    {
        var inFence = false;
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }
            if (!inFence)
            {
                yield return (i + 1, line);
            }
        }
    }

    [GeneratedRegex(@"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$")]
    private static partial Regex HeadingPattern();
}
