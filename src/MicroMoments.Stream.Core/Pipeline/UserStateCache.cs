using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// The state of the users of the partitions this instance owns, loaded once per user from Redis. Only the
/// consume loop touches it, so it needs no locks; a revoked partition's users are dropped.
/// </summary>
public sealed class UserStateCache(int maxUsers)
{
    private readonly Dictionary<string, Dictionary<string, UserState>> _shards = new(StringComparer.Ordinal);
    private int _count;

    public bool IsOverLimit => _count > maxUsers;

    public bool TryGet(string shard, string userId, out UserState state)
    {
        state = null!;
        return _shards.TryGetValue(shard, out var users) && users.TryGetValue(userId, out state!);
    }

    public void Set(string shard, UserState state)
    {
        if (!_shards.TryGetValue(shard, out var users))
        {
            _shards[shard] = users = new Dictionary<string, UserState>(StringComparer.Ordinal);
        }
        if (users.TryAdd(state.UserId, state))
        {
            _count++;
        }
    }

    /// <summary>Finds a user in any cached shard: a user new in a batch whose write is still in flight is not in the user index yet.</summary>
    public bool TryFind(string userId, out string shard, out UserState state)
    {
        foreach (var (s, users) in _shards)
        {
            if (users.TryGetValue(userId, out state!))
            {
                shard = s;
                return true;
            }
        }
        (shard, state) = (null!, null!);
        return false;
    }

    /// <summary>Puts <paramref name="state"/> in place of the cached state of the same user (an alias's tombstone).</summary>
    public void Replace(string shard, UserState state)
    {
        if (_shards.TryGetValue(shard, out var users) && users.ContainsKey(state.UserId))
        {
            users[state.UserId] = state;
        }
        else
        {
            Set(shard, state);
        }
    }

    public void Drop(string shard)
    {
        if (_shards.Remove(shard, out var users))
        {
            _count -= users.Count;
        }
    }

    /// <summary>Empties the cache when it holds more than its limit; everything in it is already in Redis.</summary>
    public void Trim()
    {
        if (_count > maxUsers)
        {
            _shards.Clear();
            _count = 0;
        }
    }
}
