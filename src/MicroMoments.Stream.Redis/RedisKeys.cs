using StackExchange.Redis;

namespace MicroMoments.Stream.Redis;

/// <summary>
/// The key layout. State is sharded by Kafka partition ("shard" = topic:partition) and every key of a
/// shard carries the shard as a hash tag, so one batch's writes for a partition land in one cluster slot
/// and can go in one MULTI/EXEC.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public RedisKey User(string shard, string userId) => $"{prefix}{{{shard}}}:u:{userId}";

    /// <summary>
    /// The raw bytes of a user's state that could not be read, kept for a person to look at (<see cref="RedisOptions.QuarantineTtl"/>)
    /// while the user starts fresh under <see cref="User"/>. In the shard's slot, beside the key it came from.
    /// </summary>
    public RedisKey Quarantine(string shard, string userId) => $"{prefix}{{{shard}}}:quarantine:{userId}";

    /// <summary>
    /// One day of the shard's decisions, for <c>explain</c>: field = user id, value = that user's newest decisions of the day
    /// (at most 50, JSON lines, newest first). <paramref name="day"/> counts days since 1970-01-01 (UTC).
    /// </summary>
    public RedisKey Decisions(string shard, long day) => $"{prefix}{{{shard}}}:decisions:{day}";

    /// <summary>
    /// A user's recent decisions as versions before the per-shard decision hashes kept them (a list, newest first). No
    /// longer written; read by <c>explain</c> until it expires.
    /// </summary>
    public RedisKey LegacyDecisions(string shard, string userId) => $"{prefix}{{{shard}}}:d:{userId}";

    /// <summary>Sorted set of user ids with pending timers, scored by their earliest due time (Unix ms).</summary>
    public RedisKey Timers(string shard) => $"{prefix}{{{shard}}}:timers";

    /// <summary>
    /// The shard's outbox: the messages of its last written batch, stored with its state before they are
    /// produced, so a crash in between re-sends exactly the ones Kafka never got.
    /// </summary>
    public RedisKey Outbox(string shard) => $"{prefix}{{{shard}}}:outbox";

    /// <summary>The shard's owner epoch: bumped by each new owner; writes carrying an older epoch are refused.</summary>
    public RedisKey Owner(string shard) => $"{prefix}{{{shard}}}:owner";

    /// <summary>The id of the shard's last applied write, so a retried write is not applied twice.</summary>
    public RedisKey LastWrite(string shard) => $"{prefix}{{{shard}}}:written";

    /// <summary>
    /// The shard's analytics counters, every rule's and the sign-up cohorts' in one hash: field
    /// "&lt;rule id&gt;|&lt;variant&gt;|&lt;metric&gt;", and "|&lt;yyyy-MM-dd&gt;|&lt;metric&gt;" for retention (see Core.Analytics.RetentionCounting).
    /// <c>report</c> sums the shards.
    /// </summary>
    public RedisKey Counters(string shard) => $"{prefix}{{{shard}}}:counters";

    /// <summary>The pattern matching every shard's counters.</summary>
    public string CountersPattern => $"{prefix}{{*}}:counters";

    /// <summary>
    /// The patterns of the counters older versions kept, one hash per rule ("stats:&lt;rule id&gt;", fields
    /// "&lt;variant&gt;|&lt;metric&gt;") and one for cohorts. No longer written; <c>report</c> still adds them in.
    /// </summary>
    public string LegacyStatsPattern => $"{prefix}{{*}}:stats:*";

    /// <inheritdoc cref="LegacyStatsPattern"/>
    public string LegacyCohortsPattern => $"{prefix}{{*}}:cohorts";

    /// <summary>
    /// What a counters key holds, from its name: (true, "") for the current per-shard hash, (false, rule id) for an older
    /// version's per-rule hash ("" for its cohorts), or null for a key of none of these forms.
    /// </summary>
    public (bool Current, string Rule)? CounterKind(string key)
    {
        // The shard cannot hold '}' (a Kafka topic name cannot), so the first one closes the hash tag; matching on it keeps a
        // rule id such as "x:cohorts" from being taken for a cohorts hash.
        var close = key.StartsWith(prefix + "{", StringComparison.Ordinal) ? key.IndexOf('}', prefix.Length) : -1;
        if (close < 0)
        {
            return null;
        }
        var rest = key.AsSpan(close + 1);
        return rest switch
        {
            ":counters" => (true, ""),
            ":cohorts" => (false, ""),
            _ when rest.StartsWith(":stats:", StringComparison.Ordinal) => (false, rest[7..].ToString()),
            _ => null,
        };
    }

    /// <summary>
    /// Population task-time votes of one period (half the population TTL) shared by all instances: field
    /// "&lt;task&gt;|&lt;bucket&gt;" → votes. Earlier versions kept float sums in "population", which is no longer read.
    /// </summary>
    public RedisKey Population(long period) => $"{prefix}population:{period}";

    /// <summary>
    /// The bandit experiments' arms, shared by all instances: field "&lt;rule&gt;|&lt;variant&gt;|sent" or "…|converted" → count.
    /// No TTL: it is the experiments' memory, a few fields per arm.
    /// </summary>
    public RedisKey BanditArms => $"{prefix}bandit:arms";

    /// <summary>Every instance's rule outcomes of one UTC hour (<c>yyyyMMddHH</c>): field "&lt;rule&gt;|&lt;series&gt;" → count; expires 50 h after its last write.</summary>
    public RedisKey Hourly(string hour) => $"{prefix}hourly:{hour}";

    /// <summary>
    /// Which shard holds a user's state: written once per new user, read by <c>explain</c> and alias merges. It keeps the
    /// first shard: a user who arrives on another partition later (producers that partition differently) is reported, not re-pointed.
    /// </summary>
    public RedisKey UserIndex(string userId) => $"{prefix}idx:{userId}";

    /// <summary>
    /// One channel's delivery counts of one UTC day under <c>policies.rateLimit</c>, shared by every instance: field = minute
    /// since the Unix epoch → commands counted for it. Every channel's days carry the one hash tag "rate", so a batch's pacing
    /// is one script in one slot. <paramref name="day"/> counts days since 1970-01-01; the hash expires a day after its day ends.
    /// </summary>
    public RedisKey RateLimit(string channel, long day) => $"{prefix}{{rate}}:{channel}:{day}";

    /// <summary>Set of every shard ever acquired, so <c>explain</c> can look for a user in each of them without scanning the keyspace.</summary>
    public RedisKey Shards => $"{prefix}shards";

    public static string Shard(string topic, int partition) => $"{topic}:{partition}";
}
