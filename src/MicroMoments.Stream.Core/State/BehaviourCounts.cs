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

    /// <summary>Distinct UTC days with activity (<see cref="Segments.SegmentFeatures"/> counts a day once, in any arrival order within 32 days).</summary>
    [JsonPropertyName("d")] public int ActiveDays { get; set; }

    /// <summary>The latest UTC day (days since the epoch) counted in <see cref="ActiveDays"/>.</summary>
    [JsonPropertyName("ld")] public int LastDay { get; set; }

    /// <summary>Which of the 32 days up to <see cref="LastDay"/> are counted: bit i is <see cref="LastDay"/> − i.</summary>
    [JsonPropertyName("rd")] public uint RecentDays { get; set; }

    /// <summary>How many days back <see cref="RecentDays"/> reaches.</summary>
    public const int RecentSpan = 32;

    /// <summary>
    /// Counts <paramref name="day"/> once: a later day moves the window on; an earlier one within it is looked up, so a late
    /// event on a day not yet counted is counted and the same events in any order give the same count. A day further back
    /// than the window is not counted.
    /// </summary>
    public void CountDay(int day)
    {
        if (ActiveDays == 0 || day > LastDay)
        {
            var shift = ActiveDays == 0 ? RecentSpan : day - LastDay;
            RecentDays = (shift >= RecentSpan ? 0 : RecentDays << shift) | 1;
            LastDay = day;
            ActiveDays++;
            return;
        }
        var back = LastDay - day;
        if (back < RecentSpan && (RecentDays & (1u << back)) == 0)
        {
            RecentDays |= 1u << back;
            ActiveDays++;
        }
    }

    /// <summary>The days counted in both <see cref="RecentDays"/> windows: what a merge must not count twice.</summary>
    public int SharedRecentDays(BehaviourCounts other)
    {
        var (later, earlier) = LastDay >= other.LastDay ? (this, other) : (other, this);
        var shift = later.LastDay - earlier.LastDay;
        var aligned = shift >= RecentSpan ? 0 : earlier.RecentDays << shift;
        return System.Numerics.BitOperations.PopCount(later.RecentDays & aligned);
    }

    /// <summary>The union of both windows, aligned on the later last day.</summary>
    public uint MergedRecentDays(BehaviourCounts other)
    {
        var (later, earlier) = LastDay >= other.LastDay ? (this, other) : (other, this);
        var shift = later.LastDay - earlier.LastDay;
        return later.RecentDays | (shift >= RecentSpan ? 0 : earlier.RecentDays << shift);
    }

    /// <summary>Sessions that ended (a gap of more than <see cref="Decisions.UserProfile.SessionGap"/>) and their total length (ms).</summary>
    [JsonPropertyName("fs")] public int FinishedSessions { get; set; }

    [JsonPropertyName("fm")] public long FinishedSessionMs { get; set; }

    /// <summary><c>Task Failed</c> and <c>Task Completed</c> events.</summary>
    [JsonPropertyName("tf")] public int TaskFailures { get; set; }

    [JsonPropertyName("tc")] public int TaskCompletions { get; set; }
}
