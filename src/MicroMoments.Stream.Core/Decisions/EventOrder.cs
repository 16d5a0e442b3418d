namespace MicroMoments.Stream.Core.Decisions;

/// <summary>How an event stands against the user's latest event time (docs/rules.md, "Allowed lateness").</summary>
internal enum Arrival
{
    /// <summary>Stamped at or after the user's latest event (or lateness 0: arrival order).</summary>
    InOrder,

    /// <summary>Stamped before the user's latest event, by at most the allowed lateness: it gives what timestamp order would.</summary>
    Reordered,

    /// <summary>Stamped before the user's latest event by more than the allowed lateness: it updates state and never triggers.</summary>
    Late,
}

/// <summary>Classifies an event by its timestamp against the user's latest event time.</summary>
internal static class EventOrder
{
    /// <summary><paramref name="latest"/>: the user's latest event time before this event (0: none yet); all Unix ms.</summary>
    public static Arrival Classify(long latest, long timestamp, long latenessMs) =>
        latenessMs <= 0 || latest == 0 || timestamp >= latest ? Arrival.InOrder
        : timestamp >= latest - latenessMs ? Arrival.Reordered
        : Arrival.Late;
}
