namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// One section of the stored state (format 2, <see cref="StateContainer"/>): a group of fields that one feature owns, with
/// its id, how to write and read it, how it is bounded (<see cref="StateBounds"/>) and how an alias merges it
/// (<see cref="UserMerge"/>). Times are deltas from the writer's and reader's base, names go through the header's table
/// (<see cref="StateWriter.Shared"/>); a section's other back-references stay inside it. A section with nothing to bound or
/// merge keeps the default members.
/// </summary>
/// <remarks>
/// A class, not an interface: the bounds run every section after each event, and a virtual call is cheaper than the
/// interface dispatch of a call site that sees every section type (about 5 % of the event path's CPU in the benchmark).
/// </remarks>
internal abstract class StateSection
{
    /// <summary>The section id: unique, never reused for something else once released.</summary>
    public abstract int Id { get; }

    /// <summary>
    /// What a reader that does not know <see cref="Id"/> does with it: keep it and write it back unchanged (true), or drop it.
    /// A section that is a cache or index of others must drop, since an older writer may change what it indexes.
    /// </summary>
    public abstract bool Keep { get; }

    /// <summary>Nothing to store: the section is left out, and reads back as the defaults.</summary>
    public abstract bool IsEmpty(UserState s);

    public abstract void Write(StateWriter w, UserState s);

    /// <summary>Reads the payload <see cref="Write"/> wrote; the container checks it took every byte.</summary>
    public abstract void Read(ref StateReader r, UserState s);

    /// <summary>Applies the section's count bounds (<see cref="StateLimits"/>); returns how many entries it evicted.</summary>
    public virtual int Evict(UserState s, StateLimits limits) => 0;

    /// <summary>
    /// At least the bytes the section's collections and strings take when written, without writing them; its scalars, key
    /// and length are in the fixed part of <see cref="StateBounds.UpperBoundBytes"/>.
    /// </summary>
    public virtual long UpperBoundBytes(UserState s) => 0;

    /// <summary>When the section's history gives way to <see cref="StateLimits.MaxStateBytes"/> (<see cref="StateTrimOrder"/>).</summary>
    public virtual int TrimRank => StateTrimOrder.Never;

    /// <summary>How many pieces <see cref="TrimOldest"/> could take: within a rank, the section holding most gives way first.</summary>
    public virtual int Trimmable(UserState s) => 0;

    /// <summary>Removes the oldest piece of the section's history (called only when <see cref="Trimmable"/> is above 0); returns roughly the bytes it took.</summary>
    public virtual long TrimOldest(UserState s) => 0;

    /// <summary>
    /// Moves the section's part of an anonymous user's state (<paramref name="from"/>) into the identified user's
    /// (<paramref name="into"/>) when an alias arrives; what <paramref name="into"/> already has wins on conflicts.
    /// </summary>
    public virtual void Merge(UserState into, UserState from, StateLimits limits)
    {
    }
}
