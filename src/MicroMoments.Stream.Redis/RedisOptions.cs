using System.ComponentModel.DataAnnotations;

namespace MicroMoments.Stream.Redis;

/// <summary>Configuration section <c>MicroMoments:Redis</c> (docs/configuration.md).</summary>
public sealed class RedisOptions
{
    public const string SectionName = "MicroMoments:Redis";

    /// <summary>A StackExchange.Redis configuration string; empty starts an embedded (not durable) store.</summary>
    public string? Configuration { get; set; }

    [Required, RegularExpression(@"^[^{}\s]*$", ErrorMessage = "KeyPrefix must not contain braces or white space.")]
    public string KeyPrefix { get; set; } = "mm:";

    /// <summary>How long an idle user's state is kept.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan StateTtl { get; set; } = TimeSpan.FromDays(60);

    /// <summary>Task-time votes older than about this are forgotten (kept in two keys of half this, each expiring), so the population baseline follows change and drops tasks no one completes.</summary>
    [Range(typeof(TimeSpan), "00:10:00", "3650.00:00:00")]
    public TimeSpan PopulationTtl { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long the raw bytes of a user state that could not be read are kept under its quarantine key (<see cref="RedisKeys.Quarantine"/>).</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan QuarantineTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Quick retries of a failed Redis call before the loop pauses consumption and keeps retrying with backoff.</summary>
    [Range(1, 20)]
    public int RetryAttempts { get; set; } = 3;

    /// <summary>
    /// How user state is written (every form is read): the container by default; <c>Binary</c> (format 1) or <c>Json</c> while
    /// instances of a version before the container may still run (docs/guarantees.md, "Upgrades and rollbacks").
    /// </summary>
    [EnumDataType(typeof(Core.State.UserStateFormat))]
    public Core.State.UserStateFormat StateFormat { get; set; } = Core.State.UserStateFormat.Container;

    public bool IsEmbedded => string.IsNullOrWhiteSpace(Configuration);
}
