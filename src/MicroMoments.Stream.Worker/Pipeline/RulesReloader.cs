using MicroMoments.Stream.Core.Rules;
using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Reloads the rules file when it changes (<see cref="PolledFileReloader"/>). A broken file, or a path that is not a regular file,
/// is rejected with its errors and the old rules stay.
/// </summary>
public sealed partial class RulesReloader(RuleEngineProvider engines, PipelineTelemetry telemetry, ILogger<RulesReloader> logger) : PolledFileReloader
{
    protected override string? WatchedPath => engines.Path;

    internal override void Reload(string path)
    {
        try
        {
            TryReload(path);
        }
#pragma warning disable CA1031 // a change-token callback: an escaping exception would stop the worker or vanish unlogged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            engines.ReloadFailed();
            telemetry.RulesReloaded(ok: false);
            LogFailed(logger, ex, path, engines.Current.Rules.Version);
        }
    }

    private void TryReload(string path)
    {
        string text;
        try
        {
            text = RuleSetLoader.ReadFile(path, engines.FileLimits);
        }
        catch (IOException ex)
        {
            engines.ReloadFailed();
            telemetry.RulesReloaded(ok: false);
            LogUnreadable(logger, path, ex.Message);
            return;
        }
        var errors = new List<RuleError>();
        if (RuleSetLoader.TryLoad(text, errors, engines.FileLimits) is not { } rules)
        {
            engines.ReloadFailed();
            telemetry.RulesReloaded(ok: false);
            LogRejected(logger, path, engines.Current.Rules.Version, string.Join("; ", errors));
            return;
        }
        if (rules.Version == engines.Current.Rules.Version)
        {
            return;
        }
        var previous = engines.Current.Rules.Version;
        engines.Replace(rules);
        telemetry.RulesReloaded(ok: true);
        LogReloaded(logger, path, previous, rules.Version, rules.Rules.Count);
    }

    [LoggerMessage(1, LogLevel.Information, "Rules reloaded from {Path}: version {Previous} → {Version} ({Count} rules); state is kept")]
    private static partial void LogReloaded(ILogger logger, string path, string previous, string version, int count);

    [LoggerMessage(2, LogLevel.Error, "Rules file {Path} rejected; keeping version {Version}: {Errors}")]
    private static partial void LogRejected(ILogger logger, string path, string version, string errors);

    [LoggerMessage(3, LogLevel.Error, "Rules file {Path} could not be read; keeping the loaded rules: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(4, LogLevel.Error, "Rules file {Path} could not be loaded; keeping version {Version}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path, string version);
}
