using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;

namespace MicroMoments.Stream.Kafka;

/// <summary>Configuration section <c>MicroMoments:Kafka</c> (docs/configuration.md).</summary>
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

    /// <summary><c>security.protocol</c>: <c>Plaintext</c> (librdkafka's default), <c>Ssl</c>, <c>SaslPlaintext</c> or <c>SaslSsl</c>.</summary>
    public SecurityProtocol? SecurityProtocol { get; set; }

    /// <summary><c>sasl.mechanism</c>: <c>Plain</c>, <c>ScramSha256</c>, <c>ScramSha512</c>, <c>Gssapi</c> or <c>OAuthBearer</c>.</summary>
    public SaslMechanism? SaslMechanism { get; set; }

    /// <summary><c>sasl.username</c>.</summary>
    public string? SaslUsername { get; set; }

    /// <summary><c>sasl.password</c>: a secret, never logged.</summary>
    public string? SaslPassword { get; set; }

    /// <summary><c>ssl.ca.location</c>: the CA bundle that signed the brokers' certificates.</summary>
    public string? SslCaLocation { get; set; }

    /// <summary><c>ssl.certificate.location</c>: the client certificate, for mutual TLS.</summary>
    public string? SslCertificateLocation { get; set; }

    /// <summary><c>ssl.key.location</c>: the client certificate's private key.</summary>
    public string? SslKeyLocation { get; set; }

    /// <summary><c>ssl.key.password</c>: a secret, never logged.</summary>
    public string? SslKeyPassword { get; set; }

    /// <summary>
    /// Any other librdkafka property by its own name (<c>MicroMoments__Kafka__Client__sasl.oauthbearer.method</c>),
    /// applied to every consumer, producer and admin client after the settings above, so it can override them.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = new(StringComparer.Ordinal);

    public bool IsEmbedded => string.IsNullOrWhiteSpace(BootstrapServers);
}
