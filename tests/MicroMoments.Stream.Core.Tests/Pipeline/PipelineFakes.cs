using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

/// <summary>In-memory stand-ins for the stages' I/O, and records as a consumer hands them over.</summary>
internal static class PipelineFakes
{
    public const string Topic = "clickstream";

    public static string ShardOf(string topic, int partition) => $"{topic}:{partition}";

    /// <summary>A track call, or an alias call when <paramref name="previousId"/> is given.</summary>
    public static SourceRecord Record(string user, string eventName, DateTimeOffset at, long offset, int partition = 0, string? previousId = null,
        IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null) =>
        new(Topic, partition, offset, at.UtcDateTime, Encoding.UTF8.GetBytes(user), Json(new
        {
            type = previousId is null ? "track" : "alias",
            @event = previousId is null ? eventName : null,
            userId = user,
            previousId,
            messageId = $"m-{partition}-{offset}",
            timestamp = at.ToString("O"),
        }), headers);

    public static SourceRecord Raw(string value, long offset, int partition = 0) =>
        new(Topic, partition, offset, TestEvents.T0.UtcDateTime, null, Encoding.UTF8.GetBytes(value));

    private static byte[] Json(object body) => JsonSerializer.SerializeToUtf8Bytes(body, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
}

/// <summary>Records what the stages report.</summary>
internal sealed class RecordingEvents : IPipelineEvents
{
    public List<RejectedRecord> DeadLetters { get; } = [];
    public List<string> AliasOutcomes { get; } = [];
    public List<Exception> RuleFailures { get; } = [];
    public List<(string PreviousId, string Reason)> AliasesNotMerged { get; } = [];
    public List<(string Shard, string UserId)> TimerFailures { get; } = [];
    public int UnknownZones { get; private set; }
    public int Decisions { get; private set; }

    public void DeadLettered(RejectedRecord rejected) => DeadLetters.Add(rejected);
    public void UnknownTimezones(int count) => UnknownZones += count;
    public void RuleFailed(Exception ex, RecordSource source) => RuleFailures.Add(ex);
    public void AliasMerged(string outcome) => AliasOutcomes.Add(outcome);
    public void AliasNotMerged(string previousId, string userId, string reason, RecordSource source) => AliasesNotMerged.Add((previousId, reason));
    public void Decided(TimeSpan eventToDecision) => Decisions++;
    public void TimerFailed(Exception ex, string shard, string userId) => TimerFailures.Add((shard, userId));
    public void TimerFired(TimeSpan late) { }
}

/// <summary>User state in a dictionary, counting the round trips asked of it.</summary>
internal sealed class InMemoryStateReader : IUserStateReader
{
    public Dictionary<(string Shard, string UserId), UserState> States { get; } = [];
    public List<(string Shard, string[] UserIds)> Loads { get; } = [];

    /// <summary>Stored bytes that fail to read, as a store would report them: (shard, user) → raw value.</summary>
    public Dictionary<(string Shard, string UserId), byte[]> Unreadable { get; } = [];

    public Task<StateLoad> LoadAsync(string shard, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        Loads.Add((shard, userIds.ToArray()));
        var found = userIds.Where(u => States.ContainsKey((shard, u))).ToDictionary(u => u, u => States[(shard, u)], StringComparer.Ordinal);
        var bad = userIds.Where(u => Unreadable.ContainsKey((shard, u)))
            .Select(u => new UnreadableState(shard, u, $"u:{u}", $"q:{u}", Unreadable[(shard, u)], "unreadable", DateTimeOffset.UnixEpoch)).ToList();
        return Task.FromResult(new StateLoad(found, bad));
    }

    public Task<string?> ShardOfAsync(string userId, CancellationToken ct) =>
        Task.FromResult(States.Keys.Where(k => k.UserId == userId).Select(k => k.Shard).FirstOrDefault());
}
