namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>A record that goes to the dead-letter topic instead of the rules, with why.</summary>
public sealed record RejectedRecord(string Shard, SourceRecord Record, string Reason, string Message);
