namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// One section of the stored state (format 2, <see cref="StateContainer"/>): a group of fields that one feature owns, with
/// its id and how to write and read it. Times are deltas from the writer's and reader's base, names go through the header's
/// table (<see cref="StateWriter.Shared"/>); a section's other back-references stay inside it.
/// </summary>
internal interface IStateSection
{
    /// <summary>The section id: unique, never reused for something else once released.</summary>
    int Id { get; }

    /// <summary>
    /// What a reader that does not know <see cref="Id"/> does with it: keep it and write it back unchanged (true), or drop it.
    /// A section that is a cache or index of others must drop, since an older writer may change what it indexes.
    /// </summary>
    bool Keep { get; }

    /// <summary>Nothing to store: the section is left out, and reads back as the defaults.</summary>
    bool IsEmpty(UserState s);

    void Write(StateWriter w, UserState s);

    /// <summary>Reads the payload <see cref="Write"/> wrote; the container checks it took every byte.</summary>
    void Read(ref StateReader r, UserState s);
}
