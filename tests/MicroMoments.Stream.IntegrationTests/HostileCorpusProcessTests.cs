using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Tests;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// The whole hostile corpus mixed into normal traffic, through the worker executable on a real Redis and broker: corrupt
/// state values, a user id past the limit, a command past the size budget, malformed and header-spoofing records, forged
/// and repeated feedback. The other users' commands equal a clean run's (simulate over their events alone), SIGTERM exits 0
/// within 15 s, and a restart with corrupt values in Redis again comes up and serves.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class HostileCorpusProcessTests : IAsyncLifetime
{
    private const string Rules = """
        version: "hostile-corpus"
        rules:
          - id: task-failing
            trigger: { kind: count, event: Task Failed, times: 3, within: 10m, per: task }
            action: { moment: clarification, channel: in_app, message: { body: "Stuck on {{trigger.task}}?" } }
          - id: content-shared
            trigger: { kind: event, event: Content Shared }
            action: { moment: reward, channel: toast, message: { body: "Thanks for sharing" } }
          - id: follow-up
            trigger: { kind: event, event: Intervention Clicked, where: { ruleId: task-failing } }
            action: { moment: education, channel: in_app, message: { body: "One more tip" } }
        """;

    private static readonly TimeSpan StopWithin = TimeSpan.FromSeconds(15);

    private readonly KafkaFixture _kafka;
    private readonly RedisFixture _redis;
    private readonly ITestOutputHelper _log;
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-hostile-").FullName;
    private readonly string _rules;
    private readonly List<WorkerProcess> _workers = [];
    private readonly DateTimeOffset _t0 = DateTimeOffset.UtcNow.AddSeconds(-60);

    public HostileCorpusProcessTests(KafkaFixture kafka, RedisFixture redis, ITestOutputHelper log)
    {
        _kafka = kafka;
        _redis = redis;
        _log = log;
        _rules = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(_rules, Rules);
    }

    private async Task<WorkerProcess> StartReadyAsync(TestStreams streams, string name)
    {
        var worker = WorkerProcess.Start(name, streams, _redis.Configuration, _rules, _log);
        _workers.Add(worker);
        await worker.WaitUntilReadyAsync();
        return worker;
    }

    private static async Task StopAsync(WorkerProcess worker)
    {
        await worker.TerminateAsync();
        Assert.Equal(0, await worker.WaitForExitAsync(StopWithin));
    }

    private string Track(string user, string name, int second, object? properties = null) => JsonSerializer.Serialize(new
    {
        type = "track", @event = name, userId = user, messageId = $"{user}-{name}-{second}-{JsonSerializer.Serialize(properties)}".GetHashCode(StringComparison.Ordinal).ToString("x8", null) + Guid.NewGuid().ToString("N")[..8],
        timestamp = _t0.AddSeconds(second).ToString("O"), properties = properties ?? new { },
    });

    private UserStateStore Store(TestStreams streams) =>
        new(_redis.Connection, new RedisOptions { Configuration = _redis.Configuration, KeyPrefix = streams.KeyPrefix }, ResiliencePipeline.Empty);

    private static string Reason(ConsumeResult<byte[]?, byte[]?> r) => DeadLetters.Header(r.Message.Headers, DeadLetters.ReasonHeader) ?? "";

    [Fact]
    public async Task MixedCorpus_OtherUsersMatchACleanRun_StopsCleanlyAndRestartsOverCorruptState()
    {
        using var streams = await TestStreams.CreateAsync(_kafka, inputPartitions: 3);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        var store = Store(streams);
        var keys = new RedisKeys(streams.KeyPrefix);
        var db = _redis.Connection.GetDatabase();
        var forms = CorruptStates.For("x").Select(c => c.Name).ToList();
        var corruptUsers = forms.Select(f => $"c-{f}").ToList();

        // 1. Users whose state will go bad, saved by a first worker, which then stops.
        var first = await StartReadyAsync(streams, "seed");
        foreach (var u in corruptUsers)
        {
            await streams.ProduceAsync(u, Track(u, "Feature Used", 0, new { feature = "reports" }));
        }
        var shards = new Dictionary<string, string>(StringComparer.Ordinal);
        await Eventually.TrueAsync(async () =>
        {
            foreach (var u in corruptUsers.Where(u => !shards.ContainsKey(u)))
            {
                if (await store.FindAsync(u, default) is { } found)
                {
                    shards[u] = found.Shard;
                }
            }
            return shards.Count == corruptUsers.Count;
        }, TimeSpan.FromSeconds(60), "the seeded users saved");
        await StopAsync(first);
        async Task CorruptAsync()
        {
            foreach (var (u, form) in corruptUsers.Zip(forms))
            {
                await db.StringSetAsync(keys.User(shards[u], u), CorruptStates.For(u).Single(c => c.Name == form).Value);
                await db.SortedSetAddAsync(keys.Timers(shards[u]), u, 0); // the timer loop meets it too, with no event
            }
        }
        await CorruptAsync();

        // 2. Normal traffic and the hostile corpus, interleaved, through a second worker.
        var clean = new List<(string Key, string Json)>();
        for (var i = 0; i < 20; i++)
        {
            var u = $"n-{i}";
            clean.AddRange(Enumerable.Range(0, 3).Select(s => (u, Track(u, "Task Failed", 10 + s, new { task = "setup" }))));
            clean.Add((u, Track(u, "Content Shared", 14, new { contentId = $"r{i}" })));
        }
        clean.AddRange(Enumerable.Range(0, 3).Select(s => ("h-fb", Track("h-fb", "Task Failed", 10 + s, new { task = "setup" }))));
        var fbCommand = SimulatedRun.Of([.. clean.Where(c => c.Key == "h-fb").Select(c => c.Json)], _rules, "PT1M", _dir).Interventions.Single();
        var click = Track("h-fb", "Intervention Clicked", 20, new { interventionId = fbCommand.InterventionId, ruleId = "task-failing" });
        clean.Add(("h-fb", click));
        var expected = SimulatedRun.Of([.. clean.Select(c => c.Json)], _rules, "PT1M", _dir);

        var hostile = new List<(string? Key, byte[] Value, Headers? Headers)>
        {
            ("h-mal", Encoding.UTF8.GetBytes("{\"type\":\"track\",\"event\":"), new Headers { { DeadLetters.ReasonHeader, "spoofed"u8.ToArray() } }),
            (null, Encoding.UTF8.GetBytes(Track(new string('L', 400_000), "Content Shared", 15)), null),
            ("h-big", Encoding.UTF8.GetBytes(Track("h-big", "Content Shared", 15, new { note = new string('x', 950_000) })), null),
            // Forged: an intervention never sent, naming the rule whose click arms the follow-up.
            ("n-0", Encoding.UTF8.GetBytes(Track("n-0", "Intervention Clicked", 21, new { interventionId = Guid.Empty.ToString(), ruleId = "task-failing" })), null),
        };
        // Repeated: three more reports of the one real click (a double tap and retries).
        hostile.AddRange(Enumerable.Range(0, 3).Select(_ => ((string?)"h-fb", Encoding.UTF8.GetBytes(click.Replace(JsonDocument.Parse(click).RootElement.GetProperty("messageId").GetString()!, Guid.NewGuid().ToString("N"), StringComparison.Ordinal)), (Headers?)null)));
        hostile.AddRange(corruptUsers.Select(u => ((string?)u, Encoding.UTF8.GetBytes(Track(u, "Feature Used", 16, new { feature = "after" })), (Headers?)null)));

        var second = await StartReadyAsync(streams, "mixed");
        var h = 0;
        foreach (var (key, json) in clean)
        {
            await streams.ProduceAsync(key, json);
            if (h < hostile.Count && clean.IndexOf((key, json)) % 4 == 3)
            {
                await streams.ProduceAsync(hostile[h].Key, hostile[h].Value, hostile[h].Headers);
                h++;
            }
        }
        for (; h < hostile.Count; h++)
        {
            await streams.ProduceAsync(hostile[h].Key, hostile[h].Value, hostile[h].Headers);
        }

        var expectedIds = expected.Interventions.Select(i => i.InterventionId).ToHashSet(StringComparer.Ordinal);
        bool Served() => output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).Select(c => c.InterventionId).ToHashSet(StringComparer.Ordinal).IsSupersetOf(expectedIds);
        // Every dead letter waited for: they come on the dead-letter topic's partitions in their own order (a busy CI read the
        // quarantines before the long user id's).
        bool DeadLettered(string reason) => deadLetters.Records.Any(r => Reason(r) == reason);
        await Eventually.TrueAsync(() => Task.FromResult(Served() && deadLetters.Records.Count(r => Reason(r) == "state_unreadable") >= forms.Count
            && DeadLettered("user_id_too_long") && DeadLettered("malformed_json")),
            TimeSpan.FromSeconds(90), "the clean run's commands, the hostile records' dead letters and a quarantine of every corrupt user");
        var commands = output.Records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
        var ofCleanUsers = commands.Where(c => c.UserId.StartsWith("n-", StringComparison.Ordinal) || c.UserId == "h-fb").Select(c => c.InterventionId);
        Assert.Equal(expectedIds.Order(StringComparer.Ordinal), ofCleanUsers.Order(StringComparer.Ordinal));
        Assert.Single(commands, c => c.RuleId == "follow-up");
        Assert.All(output.Records, r => Assert.InRange(r.Message.Value!.Length, 1, CommandSizeBudget.MaxValueBytes));
        var reasons = deadLetters.Records.Select(Reason).ToList();
        Assert.Contains("user_id_too_long", reasons);
        Assert.Contains("malformed_json", reasons);
        var spoofed = deadLetters.Records.Single(r => Reason(r) == "malformed_json");
        Assert.Equal("malformed_json", Encoding.UTF8.GetString(spoofed.Message.Headers.Single(x => x.Key == DeadLetters.ReasonHeader).GetValueBytes()));
        await Eventually.TrueAsync(async () =>
        {
            foreach (var u in corruptUsers)
            {
                if ((await store.FindAsync(u, default))?.State.FeatureCounts is not { } counts || counts.ContainsKey("reports") || !counts.ContainsKey("after"))
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(30), "every corrupt user started fresh and took its new event");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await second.ReadinessAsync()).Status);
        await StopAsync(second);

        // 3. Restart with the corrupt values back in Redis: it comes up, quarantines them again and serves.
        var quarantinedBefore = deadLetters.Records.Count(r => Reason(r) == "state_unreadable");
        await CorruptAsync();
        var third = await StartReadyAsync(streams, "restarted");
        foreach (var s in Enumerable.Range(0, 3))
        {
            await streams.ProduceAsync("n-late", Track("n-late", "Task Failed", 30 + s, new { task = "setup" }));
        }
        await Eventually.TrueAsync(() => Task.FromResult(output.Records.Any(r => InterventionCloudEvents.Decode(r.Message.Value).UserId == "n-late")
                && deadLetters.Records.Count(r => Reason(r) == "state_unreadable") >= quarantinedBefore + forms.Count),
            TimeSpan.FromSeconds(60), "the restarted worker quarantined every corrupt user again and served a new one");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await third.ReadinessAsync()).Status);
        await StopAsync(third);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var w in _workers)
        {
            await w.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
