namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// The order in which history gives way when a state is over <see cref="StateLimits.MaxStateBytes"/> (<see cref="StateSection.TrimRank"/>),
/// lowest first, after the sections a newer version wrote and this one only keeps. Timers, the schedule, watermarks and
/// scalars are <see cref="Never"/> trimmed: losing them would break exactly-once or lose pending work.
/// </summary>
internal static class StateTrimOrder
{
    public const int Never = 0;

    public const int InterventionRecords = 1;

    public const int SentRecords = 2;

    public const int WindowHits = 3;

    public const int EngagementDays = 4;

    /// <summary>The least recently used traits, features and tasks: the section holding most entries gives way first.</summary>
    public const int LeastRecentlyUsed = 5;
}
