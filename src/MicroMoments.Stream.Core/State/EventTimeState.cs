using System.Text.Json.Serialization;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// What a user's state keeps so that events out of order by up to <c>policies.allowedLateness</c> give the commands of
/// timestamp order (docs/rules.md, "Allowed lateness"). Small by construction: a 32-day mask (only when the active days are
/// more than one run), and entries kept only while
/// they are within the lateness of the user's latest event. Null (nothing stored) for a user who needs none of it.
/// </summary>
public sealed class EventTimeState
{
    /// <summary>Most absence scopes whose <c>missing</c> event is remembered; one more drops the earliest seen.</summary>
    internal const int MaxMissingSeen = 8;

    /// <summary>Most fired count groups kept for a replay; one more drops the earliest fired.</summary>
    internal const int MaxFiredGroups = 8;

    /// <summary>
    /// The user's active days as a set: bit i set when local day <see cref="UserState.LastActiveDay"/> − i had activity.
    /// 0 when the set is just the current run, or for a state written before the set existed: <see cref="UserState.StreakDays"/>
    /// then stands for it, so a user whose active days are one run keeps nothing here.
    /// </summary>
    [JsonPropertyName("d")] public uint ActiveDays { get; set; }

    /// <summary>
    /// Per absence timer id (rule, and <c>per</c> value), the latest stamped time its <c>missing</c> event was seen: a start
    /// event that arrives later but is stamped before it is already satisfied. Kept for the lateness after the latest event.
    /// </summary>
    [JsonPropertyName("m")] public Dictionary<string, long>? MissingSeen { get; set; }

    /// <summary>Count groups fired within the lateness, with their hits: a reordered hit replays its window against them.</summary>
    [JsonPropertyName("g")] public List<FiredGroup>? FiredGroups { get; set; }

    [JsonIgnore] public bool IsEmpty => ActiveDays == 0 && MissingSeen is null && FiredGroups is null;
}

/// <summary>
/// A fired count group: the window key (rule, and <c>per</c> value) and its hits in timestamp order. The last hit names the
/// group (the intervention's trigger key) and its time is when the group fired in event time.
/// </summary>
public sealed record FiredGroup([property: JsonPropertyName("w")] string Window, [property: JsonPropertyName("h")] List<WindowHit> Hits)
{
    [JsonIgnore] public WindowHit Last => Hits[^1];
}
