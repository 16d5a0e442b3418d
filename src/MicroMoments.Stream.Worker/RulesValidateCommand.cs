using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Worker;

/// <summary><c>rules validate &lt;file&gt;</c>: exit 0, or the errors with line numbers and exit 1.</summary>
public static class RulesValidateCommand
{
    public static int Run(string file, TextWriter stdout, TextWriter stderr)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (IOException ex)
        {
            stderr.WriteLine($"{file}: {ex.Message}");
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
