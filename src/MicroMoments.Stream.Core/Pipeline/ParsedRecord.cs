using System.Diagnostics;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>A record that parsed, with where it came from and the trace it belongs to.</summary>
public readonly record struct ParsedRecord(ClickEvent Event, RecordSource Source, string Shard, ActivityContext Parent, SourceRecord Record);
