using System.ComponentModel.DataAnnotations;

namespace MicroMoments.Stream.Kafka;

/// <summary>Configuration section <c>MicroMoments:Kafka</c> (contract §3).</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "MicroMoments:Kafka";
    public const string DefaultInputTopic = "clickstream";

    /// <summary>Empty: an embedded in-process Kafka-protocol broker is started (demo and tests).</summary>
    public string? BootstrapServers { get; set; }

    [Required]
    public string GroupId { get; set; } = "micromoments-stream";

    /// <summary>Topics to read; defaults to <c>clickstream</c> when none are configured.</summary>
    public List<string> InputTopics { get; set; } = [];

    [Required]
    public string OutputTopic { get; set; } = "micromoments.interventions";

    [Required]
    public string DeadLetterTopic { get; set; } = "micromoments.deadletter";

    /// <summary>The audit stream of decisions; off when empty.</summary>
    public string? DecisionTopic { get; set; }

    /// <summary>Most records handled as one batch: one Redis round trip and one producer flush per batch.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 5000;

    /// <summary>How long the loop waits for the first record of a batch; also the idle timer-check cadence.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Partitions of each input topic created by the embedded broker.</summary>
    [Range(1, 256)]
    public int EmbeddedPartitions { get; set; } = 6;

    /// <summary>How long the group waits for a silent member before moving its partitions elsewhere.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(45);

    public bool IsEmbedded => string.IsNullOrWhiteSpace(BootstrapServers);
}
