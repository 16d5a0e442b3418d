using Microsoft.Extensions.Logging;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>
/// Reloads the segments file (<c>MicroMoments:Segments:Path</c>) when it changes, as <see cref="RulesReloader"/> does the rules:
/// a broken or unreadable file is rejected with its errors, counted (<c>micromoments.stream.segments.reloads</c>, result failed)
/// and logged, and the last good segments stay.
/// </summary>
public sealed partial class SegmentsReloader(RuleEngineProvider engines, PipelineTelemetry telemetry, ILogger<SegmentsReloader> logger) : PolledFileReloader
{
    protected override string? WatchedPath => engines.SegmentsPath;

    internal override void Reload(string path)
    {
        var kept = engines.Segments?.Version ?? "none";
        try
        {
            var errors = new List<string>();
            if (SegmentsOptions.TryLoad(path, errors) is not { } segments)
            {
                engines.SegmentsReloadFailed();
                telemetry.SegmentsReloaded(ok: false);
                LogRejected(logger, path, kept, string.Join("; ", errors));
                return;
            }
            if (segments.Version == kept)
            {
                return;
            }
            engines.ReplaceSegments(segments);
            telemetry.SegmentsReloaded(ok: true);
            LogReloaded(logger, path, kept, segments.Version, string.Join(", ", segments.Names));
        }
#pragma warning disable CA1031 // on the reload loop: an escaping exception would end reloads unlogged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            engines.SegmentsReloadFailed();
            telemetry.SegmentsReloaded(ok: false);
            LogFailed(logger, ex, path, kept);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Segments reloaded from {Path}: version {Previous} → {Version} (segments {Names}); state is kept")]
    private static partial void LogReloaded(ILogger logger, string path, string previous, string version, string names);

    [LoggerMessage(2, LogLevel.Error, "Segments file {Path} rejected; keeping version {Version}: {Errors}")]
    private static partial void LogRejected(ILogger logger, string path, string version, string errors);

    [LoggerMessage(3, LogLevel.Error, "Segments file {Path} could not be loaded; keeping version {Version}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path, string version);
}
