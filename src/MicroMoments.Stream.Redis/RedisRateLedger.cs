using MicroMoments.Stream.Core.Pacing;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// The rate ledger in Redis (<see cref="RedisKeys.RateLimit"/>): one script per batch answers every request in order, so
/// instances pacing at the same time cannot both take a minute's last place. A retried call (a lost reply) counts its
/// requests again; that defers later commands more and never lets a minute exceed its limit.
/// </summary>
public sealed class RedisRateLedger(IConnectionMultiplexer redis, RedisOptions options, ResiliencePipeline resilience, RedisTelemetry? telemetry = null)
    : IRateLedger
{
    private const long DayMinutes = 1440;
    private static readonly long KeepAfterDay = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    // ARGV[1]: now (Unix ms), ARGV[2]: how long past its day a hash is kept (ms); then per request: its limit, first and
    // last minute, and the KEYS index of the day hash of its first minute and of the next day (0 when the range stays in
    // one day). Returns the minute granted to each request, or -1.
    // Each minute's count is read once per call and its increments are written once, summed, at the end: a batch costs
    // an HGET and an HINCRBY per distinct minute, not per command. Minutes a scan found full stay full (counts only
    // grow), so a later request of the batch starting inside a range an earlier one scanned skips it.
    private const string ReserveScript = """
        local now = tonumber(ARGV[1])
        local keep = tonumber(ARGV[2])
        local result = {}
        local counts = {}
        local added = {}
        local full = {}
        local a = 3
        local n = math.floor((#ARGV - 2) / 5)
        for i = 1, n do
          local limit = tonumber(ARGV[a])
          local from = tonumber(ARGV[a + 1])
          local last = tonumber(ARGV[a + 2])
          local k1 = tonumber(ARGV[a + 3])
          local k2 = tonumber(ARGV[a + 4])
          a = a + 5
          local day = math.floor(from / 1440)
          local scanned = k1 .. ':' .. limit
          local known = full[scanned]
          local inside = known and from >= known[1] and from <= known[2]
          local m = from
          if inside then
            m = known[2]
          end
          local granted = -1
          while m <= last do
            local k = k1
            if math.floor(m / 1440) ~= day then
              k = k2
            end
            local id = k .. ':' .. m
            local count = counts[id]
            if count == nil then
              count = tonumber(redis.call('HGET', KEYS[k], m) or '0')
              counts[id] = count
            end
            if count < limit then
              counts[id] = count + 1
              local add = added[id]
              if add == nil then
                added[id] = {k, m, 1}
              else
                add[3] = add[3] + 1
              end
              granted = m
              break
            end
            m = m + 1
          end
          if inside then
            known[2] = m
          else
            full[scanned] = {from, m}
          end
          result[i] = granted
        end
        local expire = {}
        for _, add in pairs(added) do
          redis.call('HINCRBY', KEYS[add[1]], add[2], add[3])
          expire[add[1]] = math.floor(add[2] / 1440)
        end
        for k, d in pairs(expire) do
          local ttl = (d + 1) * 86400000 - now + keep
          if ttl < keep then
            ttl = keep
          end
          redis.call('PEXPIRE', KEYS[k], ttl)
        end
        return result
        """;

    private readonly RedisKeys _keys = new(options.KeyPrefix);

    public async Task<long[]> ReserveAsync(IReadOnlyList<MinuteRequest> requests, DateTimeOffset now, CancellationToken ct)
    {
        if (requests.Count == 0)
        {
            return [];
        }
        var keys = new List<RedisKey>();
        var index = new Dictionary<(string Channel, long Day), int>();
        int KeyOf(string channel, long day)
        {
            if (!index.TryGetValue((channel, day), out var i))
            {
                keys.Add(_keys.RateLimit(channel, day));
                index[(channel, day)] = i = keys.Count; // Lua's KEYS count from 1
            }
            return i;
        }
        var args = new RedisValue[2 + 5 * requests.Count];
        args[0] = now.ToUnixTimeMilliseconds();
        args[1] = KeepAfterDay;
        for (var r = 0; r < requests.Count; r++)
        {
            var q = requests[r];
            var day = q.FromMinute / DayMinutes;
            // A request scans at most a day of minutes (RateLimitPolicy.MaxScanMinutes), so it meets two day hashes at most.
            var next = q.LastMinute / DayMinutes > day ? KeyOf(q.Channel, day + 1) : 0;
            var a = 2 + 5 * r;
            args[a] = q.PerMinute;
            args[a + 1] = q.FromMinute;
            args[a + 2] = q.LastMinute;
            args[a + 3] = KeyOf(q.Channel, day);
            args[a + 4] = next;
        }
        var keyArray = keys.ToArray();
        var reply = telemetry is null ? await Call() : await telemetry.TimeAsync("pace", Call);
        return reply;

        async Task<long[]> Call() => await resilience.ExecuteAsync(async _ =>
            (long[])(await redis.GetDatabase().ScriptEvaluateAsync(ReserveScript, keyArray, args))!, ct);
    }
}
