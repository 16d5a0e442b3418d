using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Worker;

/// <summary><c>rules validate &lt;file&gt;</c>: exit 0, or the errors with line numbers and exit 1; exit 2 when the file cannot be read (a directory, too large).</summary>
public static class RulesValidateCommand
{
    public static int Run(string file, TextWriter stdout, TextWriter stderr)
    {
        string text;
        try
        {
            text = RuleSetLoader.ReadFile(file);
        }
        catch (IOException ex)
        {
            stderr.WriteLine(ex.Message.Contains(file, StringComparison.Ordinal) ? ex.Message : $"{file}: {ex.Message}");
            return 2;
        }
        var errors = new List<RuleError>();
        var set = RuleSetLoader.TryLoad(text, errors);
        if (set is null)
        {
            foreach (var e in errors)
            {
                stderr.WriteLine($"{file}:{e.Line}: {e.Message}");
            }
            return 1;
        }
        stdout.WriteLine($"{file}: {set.Rules.Count} rules, version {set.Version}: valid");
        return 0;
    }
}
