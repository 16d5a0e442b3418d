using System.Globalization;
using StackExchange.Redis;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>Sections at a million users: pending timers firing on time, and what a user costs in Redis.</summary>
public static class ScaleSections
{
    /// <summary>
    /// N users with one pending (inactivity) timer each, armed by events spread over a window, then the worker's
    /// clock moved forward so they come due at a steady rate: fire lag and the timer loop's CPU, idle and firing.
    /// </summary>
    public static async Task TimersAsync(BenchInfrastructure infra, BenchmarkOptions o)
    {
        var users = o.Quick ? 100_000 : 1_000_000;
        var spread = TimeSpan.FromSeconds(o.Quick ? 10 : 100);
        const string section = "timers";
        infra.Topics(section);
        var clock = new ShiftableClock();
        await using var worker = await WorkerUnderTest.StartAsync(infra, section, clock: clock);
        var generator = new EventMix(users, seed: 5, userPrefix: "timer-u");
        var t0 = DateTimeOffset.UtcNow - spread - TimeSpan.FromMinutes(1);
        var ingest = CpuSample.Take(infra);
        for (var i = 0; i < users; i++)
        {
            while (i - worker.Total > 100_000)
            {
                infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
            }
            // One feature use per user, stamped so that the users' idle timers (15 min) come due over the spread.
            var (user, body, _) = generator.Next(t0 + spread * ((double)i / users), i, roll: 0);
            infra.Produce($"{section}-clickstream", user, body);
        }
        infra.Producer.Flush();
        await worker.WaitForAsync(users, TimeSpan.FromMinutes(10));
        var ingested = CpuSample.Take(infra) - ingest;
        var pending = await PendingTimersAsync(infra.RedisConfiguration, section, users, TimeSpan.FromSeconds(30));
        Console.WriteLine($"timers: {users:N0} users ingested ({ingested.Describe(users, "user")}); {pending:N0} users with a pending timer");

        var idleSeconds = o.Quick ? 3 : 10;
        await Task.Delay(TimeSpan.FromSeconds(2)); // the ingestion's last write, collections and compilations
        var calls = worker.RedisCalls.GetValueOrDefault("due_timers");
        var idle = CpuSample.Take(infra);
        var idleThreads = ThreadGroups.Take();
        await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
        var idleUsed = CpuSample.Take(infra) - idle;
        Console.WriteLine($"  none due, {pending:N0} pending: the loop costs {(idleUsed.Process + idleUsed.Redis).TotalMilliseconds / idleUsed.Wall.TotalSeconds:F1} ms CPU per second (worker process {idleUsed.Process.TotalMilliseconds / idleUsed.Wall.TotalSeconds:F1}, redis-server {idleUsed.Redis.TotalMilliseconds / idleUsed.Wall.TotalSeconds:F1}), {(worker.RedisCalls.GetValueOrDefault("due_timers") - calls) / idleUsed.Wall.TotalSeconds:F0} due-timer queries per second; by thread: {ThreadGroups.Take().Describe(idleThreads, (long)(idleUsed.Wall.TotalSeconds * 1000), "s", " ms CPU per second")}");

        // Now the worker's clock reads t0 + 15 min: each timer comes due at the pace its event was stamped.
        clock.Offset = t0 + TimeSpan.FromMinutes(15) - DateTimeOffset.UtcNow;
        var firing = CpuSample.Take(infra);
        await worker.WaitForTimersAsync(users, spread + TimeSpan.FromMinutes(o.Quick ? 1 : 5));
        var fired = worker.TimersFired;
        var firingUsed = CpuSample.Take(infra) - firing;
        var lags = worker.FireLags.Order().ToArray();
        Console.WriteLine($"  firing: {fired:N0} of {users:N0} fired, due at {users / spread.TotalSeconds:N0}/s over {spread.TotalSeconds:F0} s, fired over {worker.FiringSpan.TotalSeconds:F1} s; fire lag p50 {Stats.Percentile(lags, 0.5):F0} ms, p99 {Stats.Percentile(lags, 0.99):F0} ms, max {lags.LastOrDefault():F0} ms (due → fired; the check runs every 200 ms)");
        Console.WriteLine($"  firing: {firingUsed.Describe(fired, "timer")}");
        CapacityInputs.Add(infra, "timer_worker_us", firingUsed.Process.TotalMicroseconds / Math.Max(1, fired));
        CapacityInputs.Add(infra, "timer_redis_us", firingUsed.Redis.TotalMicroseconds / Math.Max(1, fired));
    }

    /// <summary>
    /// N users in Redis — 95 % idle (a screen view and a feature use), 5 % active (20 events of the standard
    /// mix) — then MEMORY USAGE samples of each kind's state key, the shard index entries, and Redis's whole
    /// used memory per user.
    /// </summary>
    public static async Task MemoryAsync(BenchInfrastructure infra, BenchmarkOptions o)
    {
        var users = o.Quick ? 100_000 : 1_000_000;
        var active = users / 20;
        var idle = users - active;
        const string section = "memory";
        infra.Topics(section);
        await infra.FlushRedisAsync();
        var usedBefore = await UsedMemoryAsync(infra.RedisConfiguration);
        await using (var worker = await WorkerUnderTest.StartAsync(infra, section))
        {
            var idleMix = new EventMix(idle, seed: 11, userPrefix: "idle-u");
            var activeMix = new EventMix(active, seed: 12, userPrefix: "active-u");
            var total = 0L;
            void Send((string User, byte[] Body, string MessageId) e)
            {
                while (total - worker.Total > 100_000)
                {
                    infra.Producer.Poll(TimeSpan.FromMilliseconds(2));
                }
                infra.Produce($"{section}-clickstream", e.User, e.Body);
                total++;
            }
            for (var i = 0; i < idle; i++)
            {
                Send(idleMix.Next(DateTimeOffset.UtcNow, i, roll: 70)); // a screen view
                Send(idleMix.Next(DateTimeOffset.UtcNow, i, roll: 0)); // a feature use
            }
            for (var i = 0; i < active * 20; i++)
            {
                Send(activeMix.Next(DateTimeOffset.UtcNow));
            }
            infra.Producer.Flush();
            await worker.WaitForAsync(total, TimeSpan.FromMinutes(15));
        } // stopped: every write is in
        var usedAfter = await UsedMemoryAsync(infra.RedisConfiguration);
        using var redis = await ConnectionMultiplexer.ConnectAsync(infra.RedisConfiguration + ",allowAdmin=true");
        var db = redis.GetDatabase();
        var server = redis.GetServers()[0];
        async Task<(double Usage, double Length, int Count)> SampleAsync(string pattern, bool strings)
        {
            var usage = new List<long>();
            var length = new List<long>();
            foreach (var key in server.Keys(pattern: pattern, pageSize: 1000).Take(1000))
            {
                usage.Add((long)await db.ExecuteAsync("MEMORY", "USAGE", key));
                if (strings)
                {
                    length.Add(await db.StringLengthAsync(key));
                }
            }
            return (usage.Count == 0 ? double.NaN : usage.Average(), length.Count == 0 ? double.NaN : length.Average(), usage.Count);
        }
        var idleKeys = await SampleAsync($"mm:{{{section}-clickstream:*}}:u:idle-u*", strings: true);
        var activeKeys = await SampleAsync($"mm:{{{section}-clickstream:*}}:u:active-u*", strings: true);
        var index = await SampleAsync("mm:idx:*", strings: true);
        long decisionBytes = 0, decisionUsers = 0; // the shards' day hashes of decisions, whole (SAMPLES 0)
        foreach (var key in server.Keys(pattern: $"mm:{{{section}-clickstream:*}}:decisions:*", pageSize: 1000))
        {
            decisionBytes += (long)await db.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0");
            decisionUsers += await db.HashLengthAsync(key);
        }
        long timerIndex = 0;
        for (var p = 0; p < BenchInfrastructure.Partitions; p++)
        {
            var r = await db.ExecuteAsync("MEMORY", "USAGE", $"mm:{{{section}-clickstream:{p}}}:timers", "SAMPLES", "0");
            timerIndex += r.IsNull ? 0 : (long)r;
        }
        Console.WriteLine($"memory: {users:N0} users in Redis ({idle:N0} idle: a view and a feature use; {active:N0} active: 20 events of the standard mix)");
        Console.WriteLine($"  idle user:   {idleKeys.Usage:F0} B per state key (MEMORY USAGE; the value is {idleKeys.Length:F0} B)");
        Console.WriteLine($"  active user: {activeKeys.Usage:F0} B per state key (the value is {activeKeys.Length:F0} B)");
        Console.WriteLine($"  per user besides: {index.Usage:F0} B user→shard index key, {(double)timerIndex / users:F0} B in the timer index; {decisionBytes / (double)Math.Max(1, decisionUsers):F0} B of decisions per user and day with any (the shards' decision hashes)");
        Console.WriteLine($"  redis used_memory: {(usedAfter - usedBefore) / (double)users:F0} B per user all in");
        CapacityInputs.Add(infra, "user_bytes", (usedAfter - usedBefore) / (double)users);
    }

    private static async Task<long> UsedMemoryAsync(string config) => (await PipelineSections.InfoFieldsAsync(config, "memory", "used_memory"))[0];

    /// <summary>Waits until the shards' timer indexes hold <paramref name="expected"/> users (the last write may still be in flight).</summary>
    private static async Task<long> PendingTimersAsync(string config, string section, long expected, TimeSpan timeout)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(config);
        var db = redis.GetDatabase();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            long total = 0;
            for (var p = 0; p < BenchInfrastructure.Partitions; p++)
            {
                total += await db.SortedSetLengthAsync($"mm:{{{section}-clickstream:{p}}}:timers");
            }
            if (total >= expected || DateTime.UtcNow > deadline)
            {
                return total;
            }
            await Task.Delay(100);
        }
    }
}
