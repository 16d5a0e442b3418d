using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The previous users named by a batch's alias calls: found by the load stage, merged (once each) by the decide stage.
/// </summary>
public sealed class AliasedUsers
{
    private readonly Dictionary<string, (string Shard, UserState State, bool Owned)> _found = new(StringComparer.Ordinal);
    private readonly HashSet<string> _notFound = new(StringComparer.Ordinal);

    public bool Knows(string previousId) => _found.ContainsKey(previousId) || _notFound.Contains(previousId);

    public void Found(string previousId, string shard, UserState state, bool owned) => _found[previousId] = (shard, state, owned);

    /// <summary>An alias for an id never seen: nothing to merge.</summary>
    public void NotFound(string previousId) => _notFound.Add(previousId);

    public bool IsNotFound(string previousId) => _notFound.Contains(previousId);

    /// <summary>Takes the previous user out: a second alias naming it in the same batch merges nothing more.</summary>
    public bool Take(string previousId, out (string Shard, UserState State, bool Owned) aliased) => _found.Remove(previousId, out aliased);

    /// <summary>The owned shards holding a previous user: the batch writes their tombstones, so it needs their epochs.</summary>
    public IReadOnlyCollection<string> OwnedShards => _found.Values.Where(a => a.Owned).Select(a => a.Shard).Distinct(StringComparer.Ordinal).ToList();
}
