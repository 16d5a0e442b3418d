using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MicroMoments.Stream.Worker.Pipeline;

/// <summary>Configuration section <c>MicroMoments:Rules</c>.</summary>
public sealed class RulesOptions
{
    public const string SectionName = "MicroMoments:Rules";

    /// <summary>The rules file; empty uses the bundled default rules.</summary>
    public string? Path { get; set; }

    public static string DefaultPath => System.IO.Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml");

    public string ResolvedPath => string.IsNullOrWhiteSpace(Path) ? DefaultPath : Path;

    /// <summary>Largest rules file in bytes, checked before it is read.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxFileBytes { get; set; } = RulesFileLimits.Default.MaxBytes;

    /// <summary>Deepest nesting of lists and mappings, checked before any node is built (deep nesting exhausts the stack).</summary>
    [Range(8, 1000)]
    public int MaxNesting { get; set; } = RulesFileLimits.Default.MaxDepth;

    /// <summary>Most values in the file with every YAML alias expanded (an alias bomb is refused before it is expanded).</summary>
    [Range(1000, 10_000_000)]
    public int MaxValues { get; set; } = RulesFileLimits.Default.MaxNodes;

    public RulesFileLimits ToLimits() => new() { MaxBytes = MaxFileBytes, MaxDepth = MaxNesting, MaxNodes = MaxValues };
}

/// <summary>
/// Holds the engine for the current rules file and segments file. The consume loop reads <see cref="Current"/> once per batch;
/// a reload of either swaps in a new engine with the other kept.
/// </summary>
public sealed class RuleEngineProvider
{
    private readonly Lock _replacing = new();
    private volatile EngineOptions _engineOptions;
    private volatile RuleEngine _current;

    private readonly TimeProvider _time;

    public RuleEngineProvider(IOptions<RulesOptions> rules, IOptions<PipelineOptions> pipeline, IOptions<StateOptions> state, TimeProvider? time = null,
        IOptions<SegmentsOptions>? segments = null)
    {
        _time = time ?? TimeProvider.System;
        LoadedAt = _time.GetUtcNow();
        SegmentsPath = segments?.Value.IsSet == true ? segments.Value.Path : null;
        _engineOptions = new EngineOptions
        {
            MaxTriggerAge = pipeline.Value.MaxTriggerAge,
            Limits = state.Value.ToLimits(),
            Segments = SegmentsPath is null ? null : LoadSegments(SegmentsPath),
        };
        Population = new PopulationBaseline(_engineOptions.Limits.MaxPopulationTasks);
        Path = rules.Value.ResolvedPath;
        FileLimits = rules.Value.ToLimits();
        _current = new RuleEngine(Load(Path, FileLimits), _engineOptions, Population);
    }

    /// <summary>A broken segments file at start is invalid configuration, as a broken rules file is.</summary>
    private static SegmentModel LoadSegments(string path)
    {
        var errors = new List<string>();
        return SegmentsOptions.TryLoad(path, errors)
            ?? throw new OptionsValidationException(SegmentsOptions.SectionName, typeof(SegmentsOptions), errors.Select(e => $"{SegmentsOptions.PathKey}: {path}: {e}"));
    }

    /// <summary>The segments file (<c>MicroMoments:Segments:Path</c>), or null when none is configured.</summary>
    public string? SegmentsPath { get; }

    /// <summary>The loaded segments, or null when none are.</summary>
    public SegmentModel? Segments => _engineOptions.Segments;

    private int _failedSegmentReloads;

    /// <summary>Rejected segments reloads (a broken or unreadable file) since start.</summary>
    public int FailedSegmentReloads => Volatile.Read(ref _failedSegmentReloads);

    public void SegmentsReloadFailed() => Interlocked.Increment(ref _failedSegmentReloads);

    /// <summary>Swaps in new segments with the current rules; state is untouched.</summary>
    public void ReplaceSegments(SegmentModel segments)
    {
        lock (_replacing)
        {
            _engineOptions = _engineOptions with { Segments = segments };
            _current = new RuleEngine(_current.Rules, _engineOptions, Population);
        }
    }

    /// <summary>A broken rules file at start is invalid configuration: start-up stops with the errors, as for other keys.</summary>
    private static RuleSet Load(string path, RulesFileLimits limits)
    {
        try
        {
            return RuleSetLoader.LoadFile(path, limits);
        }
        catch (IOException ex)
        {
            throw new OptionsValidationException(RulesOptions.SectionName, typeof(RulesOptions), [$"MicroMoments:Rules:Path: {ex.Message}"]);
        }
        catch (RuleSetException ex)
        {
            throw new OptionsValidationException(RulesOptions.SectionName, typeof(RulesOptions),
                ex.Errors.Select(e => $"MicroMoments:Rules:Path: {path}:{e.Line}: {e.Message}"));
        }
    }

    public string Path { get; }

    /// <summary>The bounds a rules file is checked against, at start and on every reload.</summary>
    public RulesFileLimits FileLimits { get; }

    /// <summary>Population statistics: one instance for the process, carried across rule reloads.</summary>
    public PopulationBaseline Population { get; }

    /// <summary>The bandit experiments' arm counts: one instance for the process, carried across rule reloads.</summary>
    public ArmStatistics Arms => _engineOptions.Arms;

    public RuleEngine Current => _current;

    /// <summary>An engine of the current rules with population statistics of its own, for work that must not count.</summary>
    public RuleEngine Detached() => new(_current.Rules, _engineOptions, new PopulationBaseline(_engineOptions.Limits.MaxPopulationTasks));

    private int _failedReloads;

    /// <summary>Rejected reloads (a broken or unreadable file) since start.</summary>
    public int FailedReloads => Volatile.Read(ref _failedReloads);

    /// <summary>Swaps in a new rule set; state is untouched, so a reload never loses it.</summary>
    public void Replace(RuleSet rules)
    {
        lock (_replacing)
        {
            _current = new RuleEngine(rules, _engineOptions, Population);
            LoadedAt = _time.GetUtcNow();
        }
    }

    /// <summary>When the current rules were loaded: at start, or by the last reload that changed them.</summary>
    public DateTimeOffset LoadedAt { get; private set; }

    public void ReloadFailed() => Interlocked.Increment(ref _failedReloads);
}
