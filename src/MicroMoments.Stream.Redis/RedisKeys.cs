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

    /// <summary>The user's most recent decisions (JSON, newest first), for <c>explain</c>.</summary>
    public RedisKey Decisions(string shard, string userId) => $"{prefix}{{{shard}}}:d:{userId}";

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

    /// <summary>Response analytics of one rule in one shard: fields "&lt;variant&gt;|&lt;metric&gt;"; <c>report</c> sums the shards.</summary>
    public RedisKey Stats(string shard, string ruleId) => $"{prefix}{{{shard}}}:stats:{ruleId}";

    /// <summary>Sign-up cohorts of one shard: fields "&lt;yyyy-MM-dd&gt;|signed_up" and "|retained_w1".</summary>
    public RedisKey Cohorts(string shard) => $"{prefix}{{{shard}}}:cohorts";

    /// <summary>The pattern matching every shard's stats keys.</summary>
    public string StatsPattern => $"{prefix}{{*}}:stats:*";

    /// <summary>The pattern matching every shard's cohort keys.</summary>
    public string CohortsPattern => $"{prefix}{{*}}:cohorts";

    /// <summary>
    /// Population task-time votes of one period (half the population TTL) shared by all instances: field
    /// "&lt;task&gt;|&lt;bucket&gt;" → votes. Earlier versions kept float sums in "population", which is no longer read.
    /// </summary>
    public RedisKey Population(long period) => $"{prefix}population:{period}";

    /// <summary>
    /// Which shard holds a user's state: written once per new user, read by <c>explain</c> and alias merges. It keeps the
    /// first shard: a user who arrives on another partition later (producers that partition differently) is reported, not re-pointed.
    /// </summary>
    public RedisKey UserIndex(string userId) => $"{prefix}idx:{userId}";

    /// <summary>Set of every shard ever acquired, so <c>explain</c> can look for a user in each of them without scanning the keyspace.</summary>
    public RedisKey Shards => $"{prefix}shards";

    public static string Shard(string topic, int partition) => $"{topic}:{partition}";
}
