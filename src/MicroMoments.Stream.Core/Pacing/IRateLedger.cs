namespace MicroMoments.Stream.Core.Pacing;

/// <summary>
/// One command asking for a delivery minute on a rate-limited channel: the first minute from <see cref="FromMinute"/> to
/// <see cref="LastMinute"/> (minutes since the Unix epoch, UTC) with fewer than <see cref="PerMinute"/> commands already.
/// </summary>
public readonly record struct MinuteRequest(string Channel, int PerMinute, long FromMinute, long LastMinute);

/// <summary>
/// The per-channel minute counters every instance shares (<c>policies.rateLimit</c>): Redis in the worker, memory in
/// <c>simulate</c> and the tests. Both take the requests in order and give each the same answer for the same counts.
/// </summary>
public interface IRateLedger
{
    /// <summary>
    /// Counts each request in the first minute of its range that has room and returns that minute, or -1 when every
    /// minute of its range is full (nothing counted). Requests are answered in order, so a later one sees the earlier ones.
    /// </summary>
    Task<long[]> ReserveAsync(IReadOnlyList<MinuteRequest> requests, DateTimeOffset now, CancellationToken ct);
}
