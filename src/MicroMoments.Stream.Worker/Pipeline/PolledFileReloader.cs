using System.Threading.Channels;
using MicroMoments.Stream.Core.Rules;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Reloads a file when it changes (the rules file, the segments file). Polling, so in-place edits and Kubernetes ConfigMap
/// updates (a symlink swap) are both seen.
/// </summary>
/// <remarks>
/// The file watcher's callback only signals; reloads run on a loop of their own. A callback that blocked (it once
/// opened a FIFO at the rules path and waited for a writer forever) stopped the watcher's later change events, and
/// disposing the subscription waits for a running callback, so shutdown hung with it. Files are read without
/// blocking (<see cref="RegularFile"/>), and stopping never waits for a reload.
/// </remarks>
public abstract class PolledFileReloader : IHostedService, IDisposable
{
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite, // one pending reload reads the latest file anyway
        SingleReader = true,
    });
    private readonly CancellationTokenSource _stopping = new();
    private PhysicalFileProvider? _files;
    private IDisposable? _subscription;
    private bool _disposed;

    /// <summary>The file to watch, or null for none (nothing is started).</summary>
    protected abstract string? WatchedPath { get; }

    /// <summary>Reads <paramref name="path"/> and swaps it in, or keeps what is loaded and says why; never throws.</summary>
    internal abstract void Reload(string path);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (WatchedPath is null)
        {
            return Task.CompletedTask;
        }
        var full = Path.GetFullPath(WatchedPath);
        _files = new PhysicalFileProvider(Path.GetDirectoryName(full)!) { UsePollingFileWatcher = true, UseActivePolling = true };
        var name = Path.GetFileName(full);
        _subscription = ChangeToken.OnChange(() => _files.Watch(name), () => _changes.Writer.TryWrite(true));
        _ = Task.Run(() => ReloadOnChangesAsync(full, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return Task.CompletedTask; // a host stopped again after it was disposed: stopped already
        }
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

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _subscription?.Dispose();
        _files?.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
