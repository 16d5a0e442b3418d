using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Tests;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// A user's state in Redis that cannot be read, through the live worker on a real Redis: the user is quarantined and starts
/// fresh, and the batch, the partition and every other user go on (docs/guarantees.md, "Unreadable state").
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class UnreadableStatePipelineTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0.AddMinutes(1));

    private static string Anonymous(string anonymousId, string name, DateTimeOffset at) => JsonSerializer.Serialize(new
    {
        type = "track", @event = name, anonymousId, messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O"), properties = new { },
    });

    private static string Alias(string previousId, string userId, DateTimeOffset at) => JsonSerializer.Serialize(new
    {
        type = "alias", previousId, userId, messageId = Guid.NewGuid().ToString(), timestamp = at.ToString("O"),
    });

    private IDatabase Db => redis.Connection.GetDatabase();

    /// <summary>Produces an event for each user and waits until the worker has saved them all; returns each user's shard.</summary>
    private static async Task<Dictionary<string, string>> SeedAsync(TestStreams streams, WorkerHarness worker, IReadOnlyCollection<string> users)
    {
        foreach (var u in users)
        {
            await streams.ProduceAsync(u, Track(u, "Feature Used", T0, new { feature = "reports" }));
        }
        var shards = new Dictionary<string, string>(StringComparer.Ordinal);
        await Eventually.TrueAsync(async () =>
        {
            foreach (var u in users.Where(u => !shards.ContainsKey(u)))
            {
                if (await worker.Store.FindAsync(u, default) is { } found)
                {
                    shards[u] = found.Shard;
                }
            }
            return shards.Count == users.Count;
        }, TimeSpan.FromSeconds(60), "every seeded user saved");
        return shards;
    }

    [Fact]
    public async Task Event_EveryFormOfCorruptState_QuarantinedFreshAndOtherUsersServed()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        var forms = CorruptStates.For("x").Select(c => c.Name).ToList();
        Dictionary<string, string> shards;
        await using (var seeding = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            // Stopped before the values go bad: a running worker serves its users from its cache and reads them again only
            // after a restart or a rebalance, which is when a bad value in Redis meets it.
            shards = await SeedAsync(streams, seeding, [.. forms.Select(f => $"u-bad-{f}"), "u-wrongtype"]);
        }
        var keys = new RedisKeys(streams.KeyPrefix);
        foreach (var form in forms)
        {
            var user = $"u-bad-{form}";
            await Db.StringSetAsync(keys.User(shards[user], user), CorruptStates.For(user).Single(c => c.Name == form).Value);
        }
        // A key of another Redis type: MGET reads it as no value, and the save's SET replaces it.
        await Db.KeyDeleteAsync(keys.User(shards["u-wrongtype"], "u-wrongtype"));
        await Db.HashSetAsync(keys.User(shards["u-wrongtype"], "u-wrongtype"), "f", "v");
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);

        foreach (var user in shards.Keys)
        {
            await streams.ProduceAsync(user, Track(user, "Feature Used", T0.AddSeconds(30), new { feature = "after" }));
        }
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-good", Track("u-good", "Task Failed", T0.AddSeconds(31 + i), new { task = "notifications-setup" }));
        }

        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal(("u-good", "setup-task-failing"), (command.UserId, command.RuleId));
        var dead = await deadLetters.WaitForAsync(forms.Count);
        Assert.All(dead, d => Assert.Equal("state_unreadable", DeadLetters.Header(d.Message.Headers, DeadLetters.ReasonHeader)));
        Assert.Equal(forms.Select(f => $"u-bad-{f}").Order(), dead.Select(d => Encoding.UTF8.GetString(d.Message.Key!)).Order());
        foreach (var d in dead)
        {
            var user = Encoding.UTF8.GetString(d.Message.Key!);
            var form = user["u-bad-".Length..];
            var raw = CorruptStates.For(user).Single(c => c.Name == form).Value;
            Assert.Equal(raw, d.Message.Value ?? []);
            Assert.Equal(raw, (byte[]?)await Db.StringGetAsync(keys.Quarantine(shards[user], user)) ?? []);
            Assert.Equal("-1", DeadLetters.Header(d.Message.Headers, DeadLetters.OffsetHeader));
        }
        await Eventually.TrueAsync(async () =>
        {
            foreach (var user in shards.Keys)
            {
                if ((await worker.Store.FindAsync(user, default))?.State.FeatureCounts is not { } counts || counts.ContainsKey("reports") || !counts.ContainsKey("after"))
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(30), "every corrupt user started fresh with only the new event");
        Assert.True(worker.Health.Running);
    }

    [Fact]
    public async Task TimerLoop_CorruptStateWithDueTimer_QuarantinedOnStartAndAgainAfterRestart()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var deadLetters = streams.Read(streams.DeadLetters);
        using var output = streams.Read(streams.Output);
        var keys = new RedisKeys(streams.KeyPrefix);
        var shard = RedisKeys.Shard(streams.Input, 0);
        async Task CorruptAsync()
        {
            await Db.StringSetAsync(keys.User(shard, "u-timer"), "GARBAGE");
            await Db.SortedSetAddAsync(keys.Timers(shard), "u-timer", 0);
        }

        await CorruptAsync();
        await using (var worker = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            await Eventually.TrueAsync(async () =>
            {
                _clock.Advance(TimeSpan.FromSeconds(1));
                return (await Db.SortedSetScoreAsync(keys.Timers(shard), "u-timer")) is null && deadLetters.Records.Count == 1;
            }, TimeSpan.FromSeconds(60), "the timer loop quarantined the user and dropped its index entry");
            Assert.True(worker.Health.Running);
            await worker.StopAsync();
        }
        Assert.Equal("GARBAGE", (string?)await Db.StringGetAsync(keys.Quarantine(shard, "u-timer")));

        // Stopped, corrupted again, started: the same, and events still flow.
        await CorruptAsync();
        await using var again = await WorkerHarness.StartAsync(streams, redis, _clock);
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-after", Track("u-after", "Task Failed", _clock.GetUtcNow().AddSeconds(-10 + i), new { task = "calendar-sync" }));
        }
        await Eventually.TrueAsync(async () =>
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            return (await Db.SortedSetScoreAsync(keys.Timers(shard), "u-timer")) is null && deadLetters.Records.Count == 2;
        }, TimeSpan.FromSeconds(60), "quarantined again after the restart");
        Assert.Equal("setup-task-failing", InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value).RuleId);
        Assert.True(again.Health.Running);
    }

    [Fact]
    public async Task Alias_PreviousUsersStateCorrupt_QuarantinedAndIdentifiedUserGoesOn()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var deadLetters = streams.Read(streams.DeadLetters);
        string shard;
        await using (var seeding = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            await streams.ProduceAsync("anon-1", Anonymous("anon-1", "Feature Used", T0));
            await Eventually.TrueAsync(async () => await seeding.Store.FindAsync("anon-1", default) is not null, TimeSpan.FromSeconds(30), "anonymous user saved");
            shard = (await seeding.Store.FindAsync("anon-1", default))!.Value.Shard;
        }
        var keys = new RedisKeys(streams.KeyPrefix);
        await Db.StringSetAsync(keys.User(shard, "anon-1"), """{"u":"anon-1","wm":null}""");
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);

        await streams.ProduceAsync("u-known", Alias("anon-1", "u-known", T0.AddSeconds(10)));
        await streams.ProduceAsync("u-known", Track("u-known", "Feature Used", T0.AddSeconds(11), new { feature = "after" }));

        var dead = Assert.Single(await deadLetters.WaitForAsync(1));
        Assert.Equal(("state_unreadable", "anon-1"), (DeadLetters.Header(dead.Message.Headers, DeadLetters.ReasonHeader), Encoding.UTF8.GetString(dead.Message.Key!)));
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-known", default))?.State.FeatureCounts?.ContainsKey("after") == true,
            TimeSpan.FromSeconds(30), "the identified user's events applied");
        Assert.True(worker.Health.Running);
    }

    [Fact]
    public async Task Explain_AfterTheWorkerQuarantined_SaysWhereTheBytesAreKept()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var deadLetters = streams.Read(streams.DeadLetters);
        string shard;
        await using (var seeding = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            shard = (await SeedAsync(streams, seeding, ["u-kept"]))["u-kept"];
        }
        var keys = new RedisKeys(streams.KeyPrefix);
        await Db.StringSetAsync(keys.User(shard, "u-kept"), "GARBAGE");
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        await streams.ProduceAsync("u-kept", Track("u-kept", "Feature Used", T0.AddSeconds(30), new { feature = "after" }));
        await deadLetters.WaitForAsync(1);
        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-kept", default))?.State.FeatureCounts?.ContainsKey("after") == true,
            TimeSpan.FromSeconds(30), "the fresh state saved");
        using var stdout = new StringWriter();

        var exit = await Worker.ExplainCommand.RunAsync(["--user", "u-kept"], ExplainConfig(streams), stdout, TextWriter.Null, _clock);

        Assert.Equal(0, exit);
        Assert.Contains($"an earlier state was unreadable (quarantined at {keys.Quarantine(shard, "u-kept")}", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("last feature after", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_UserIndexEntryOfAnotherRedisType_NewUserAndAliasGoOn()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        var keys = new RedisKeys(streams.KeyPrefix);
        await Db.HashSetAsync(keys.UserIndex("u-hashed"), "f", "v");
        await Db.HashSetAsync(keys.UserIndex("anon-hashed"), "f", "v");
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);

        await streams.ProduceAsync("u-hashed", Track("u-hashed", "Feature Used", T0, new { feature = "a" }));
        await streams.ProduceAsync("u-other", Alias("anon-hashed", "u-other", T0.AddSeconds(1)));
        await streams.ProduceAsync("u-other", Track("u-other", "Feature Used", T0.AddSeconds(2), new { feature = "b" }));

        await Eventually.TrueAsync(async () => (await worker.Store.FindAsync("u-hashed", default))?.State.FeatureCounts?.ContainsKey("a") == true
                && (await worker.Store.FindAsync("u-other", default))?.State.FeatureCounts?.ContainsKey("b") == true,
            TimeSpan.FromSeconds(30), "both users saved, the hashed index entry replaced");
        Assert.True(worker.Health.Running);
        Assert.Equal((await worker.Store.FindAsync("u-hashed", default))!.Value.Shard, (string?)await Db.StringGetAsync(keys.UserIndex("u-hashed")));
    }

    private Microsoft.Extensions.Configuration.IConfiguration ExplainConfig(TestStreams streams) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MicroMoments:Redis:Configuration"] = redis.Configuration,
        ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
    }).Build();

    [Fact]
    public async Task ExplainAndConsole_CorruptState_SayUnreadableInsteadOfFailing()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        var shard = (await SeedAsync(streams, worker, ["u-broken"]))["u-broken"];
        var keys = new RedisKeys(streams.KeyPrefix);
        await Db.StringSetAsync(keys.User(shard, "u-broken"), "GARBAGE");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await Worker.ExplainCommand.RunAsync(["--user", "u-broken"], config, stdout, stderr, _clock);
        using var http = new HttpClient { BaseAddress = Console.ConsoleAccessTests.LoopbackAddress(worker) };
        using var page = await http.GetAsync(new Uri("/console/users/u-broken", UriKind.Relative));

        Assert.Equal(0, exit);
        Assert.Contains("state unreadable", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains(keys.Quarantine(shard, "u-broken").ToString(), stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("state unreadable", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
