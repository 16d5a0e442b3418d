using System.Threading.Channels;
using MicroMoments.Stream.Core.Rules;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Reloads the rules file when it changes. Polling, so in-place edits and Kubernetes ConfigMap updates
/// (a symlink swap) are both seen. A broken file, or a path that is not a regular file, is rejected with its
/// errors and the old rules stay.
/// </summary>
/// <remarks>
/// The file watcher's callback only signals; reloads run on a loop of their own. A callback that blocked (it once
/// opened a FIFO at the rules path and waited for a writer forever) stopped the watcher's later change events, and
/// disposing the subscription waits for a running callback, so shutdown hung with it. Files are read without
/// blocking (<see cref="RegularFile"/>), and stopping never waits for a reload.
/// </remarks>
public sealed partial class RulesReloader(RuleEngineProvider engines, PipelineTelemetry telemetry, ILogger<RulesReloader> logger) : IHostedService, IDisposable
{
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite, // one pending reload reads the latest file anyway
        SingleReader = true,
    });
    private readonly CancellationTokenSource _stopping = new();
    private PhysicalFileProvider? _files;
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(engines.Path);
        _files = new PhysicalFileProvider(Path.GetDirectoryName(full)!) { UsePollingFileWatcher = true, UseActivePolling = true };
        var name = Path.GetFileName(full);
        _subscription = ChangeToken.OnChange(() => _files.Watch(name), () => _changes.Writer.TryWrite(true));
        _ = Task.Run(() => ReloadOnChangesAsync(full, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        _changes.Writer.TryComplete();
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    private async Task ReloadOnChangesAsync(string path, CancellationToken ct)
    {
        try
        {
            while (await _changes.Reader.WaitToReadAsync(ct))
            {
                _changes.Reader.TryRead(out _);
                Reload(path);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    internal void Reload(string path)
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

    public void Dispose()
    {
        _subscription?.Dispose();
        _files?.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
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
