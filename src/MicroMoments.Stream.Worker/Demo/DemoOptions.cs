using Microsoft.Extensions.Configuration;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>Configuration section <c>MicroMoments:Demo</c>: the synthetic clickstream.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "MicroMoments:Demo";

    /// <summary>Defaults to true when both Kafka and Redis are embedded (docs/configuration.md).</summary>
    public bool? Enabled { get; set; }

    /// <summary>Time between waves of personas.</summary>
    public TimeSpan WaveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Stops after this many waves (0: until stopped).</summary>
    public int Waves { get; set; }

    public static bool IsEnabled(IConfiguration config) =>
        config.GetSection(SectionName).GetValue<bool?>(nameof(Enabled))
        ?? (string.IsNullOrWhiteSpace(config["MicroMoments:Kafka:BootstrapServers"]) || config["MicroMoments:Kafka:Embedded"] == "true")
           && (string.IsNullOrWhiteSpace(config["MicroMoments:Redis:Configuration"]) || config["MicroMoments:Redis:Embedded"] == "true");
}
