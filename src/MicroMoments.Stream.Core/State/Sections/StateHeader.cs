namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 1, the header, first in every value: the user id, the time base the other sections' times are deltas from, and
/// the table of names they refer to; then, only when it differs from the base, the latest event time.
/// </summary>
/// <remarks>
/// The base is the latest event time, unless the value keeps sections this version does not know: those were written
/// against the base and names they were read with, so the writer keeps both (<see cref="KeptSections"/>) and the latest
/// event time follows as a delta.
/// </remarks>
internal static class StateHeader
{
    public static void Write(StateWriter w, UserState s, long timeBase, ReadOnlySpan<string> names)
    {
        w.String(s.UserId ?? "");
        w.VarInt(timeBase);
        w.Count(names.Length);
        foreach (var name in names)
        {
            w.String(name);
        }
        if (s.LastEventAt != timeBase)
        {
            w.VarInt(s.LastEventAt - timeBase);
        }
    }

    /// <summary>Reads the header into <paramref name="s"/>; returns the names and the base the other sections need.</summary>
    public static (List<string> Names, long TimeBase) Read(ref StateReader r, UserState s)
    {
        s.UserId = r.String();
        var timeBase = r.VarInt();
        var n = r.Count();
        if (n > StateWriter.MaxShared)
        {
            throw new InvalidDataException($"the header lists {n} names, more than {StateWriter.MaxShared}");
        }
        var names = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            names.Add(r.String());
        }
        s.LastEventAt = r.AtEnd ? timeBase : timeBase + r.VarInt();
        return (names, timeBase);
    }
}
