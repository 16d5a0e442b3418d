using System.Runtime.InteropServices;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// <see cref="List{T}.RemoveAll"/> with an argument: the state's per-event pruning passes what it compares against
/// (a time, a bound) instead of capturing it, so a static lambda does the job and no predicate is made per event.
/// </summary>
internal static class InPlace
{
    /// <summary>Removes the items <paramref name="remove"/> picks, keeping the others in order; returns how many went.</summary>
    public static int RemoveWhere<T, TArg>(List<T> list, TArg arg, Func<T, TArg, bool> remove)
    {
        var items = CollectionsMarshal.AsSpan(list);
        var kept = 0;
        for (var i = 0; i < items.Length; i++)
        {
            if (!remove(items[i], arg))
            {
                items[kept++] = items[i];
            }
        }
        var removed = items.Length - kept;
        if (removed > 0)
        {
            list.RemoveRange(kept, removed);
        }
        return removed;
    }
}
