using System.Text.Json.Serialization;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Running counts of what the user did, kept for the learned segments' features (<see cref="Segments.SegmentFeatures"/>):
/// each is added to once per applied event, so the online features are those of the user's whole history without it.
/// </summary>
public sealed class BehaviourCounts
{
    /// <summary>Activity events applied (delivery reports and foreign or repeated feedback are not activity).</summary>
    [JsonPropertyName("n")] public long Events { get; set; }

    /// <summary>Distinct UTC days with activity, counted when an event falls on a day after <see cref="LastDay"/>.</summary>
    [JsonPropertyName("d")] public int ActiveDays { get; set; }

    /// <summary>The latest UTC day (days since the epoch) counted in <see cref="ActiveDays"/>.</summary>
    [JsonPropertyName("ld")] public int LastDay { get; set; }

    /// <summary>Sessions that ended (a gap of more than <see cref="Decisions.UserProfile.SessionGap"/>) and their total length (ms).</summary>
    [JsonPropertyName("fs")] public int FinishedSessions { get; set; }

    [JsonPropertyName("fm")] public long FinishedSessionMs { get; set; }

    /// <summary><c>Task Failed</c> and <c>Task Completed</c> events.</summary>
    [JsonPropertyName("tf")] public int TaskFailures { get; set; }

    [JsonPropertyName("tc")] public int TaskCompletions { get; set; }
}
