using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Simulation;

/// <summary>
/// The user states of <c>simulate</c>: the store its load stage reads, as Redis is the worker's, with every user on the one
/// shard this process owns (<see cref="Shard"/>). A decided batch's users are written back with <see cref="Save"/>, as the
/// worker persists them.
/// </summary>
public sealed class InMemoryUserStates : IUserStateReader
{
    /// <summary>The one shard: a worker with a single partition.</summary>
    public const string Shard = "simulate";

    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);

    /// <summary>Every user saved, by id; a merged anonymous id holds its tombstone.</summary>
    public IReadOnlyDictionary<string, UserState> Users => _users;

    public Task<StateLoad> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var found = new Dictionary<string, UserState>(StringComparer.Ordinal);
        if (shard == Shard)
        {
            foreach (var id in userIds)
            {
                if (_users.TryGetValue(id, out var state))
                {
                    found[id] = state;
                }
            }
        }
        return Task.FromResult(StateLoad.Of(found));
    }

    public Task<string?> ShardOfAsync(string userId, CancellationToken ct) => Task.FromResult<string?>(_users.ContainsKey(userId) ? Shard : null);

    /// <summary>Keeps the batch's changed users: a new user, a changed one, an alias's tombstone in place of the state it ends.</summary>
    public void Save(BatchWork work)
    {
        foreach (var users in work.Dirty.Values)
        {
            foreach (var (id, state) in users)
            {
                _users[id] = state;
            }
        }
    }
}
