using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

[Collection(InfraCollection.Name)]
public sealed class WorkerPipelineTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    [Fact]
    public async Task Events_SameTaskFailsThreeTimes_EmitsCloudEventOnOutputTopic()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        using var output = streams.Read(streams.Output);
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var headers = new Headers { { "traceparent", Encoding.UTF8.GetBytes($"00-{traceId}-00f067aa0ba902b7-01") } };

        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-1", Track("u-1", "Task Failed", T0.AddSeconds(-30 + i), new { task = "notifications-setup" }), headers);
        }

        var record = Assert.Single(await output.WaitForAsync(1));
        Assert.Equal("u-1", Encoding.UTF8.GetString(record.Message.Key!));
        Assert.Equal("application/cloudevents+json", DeadLetters.Header(record.Message.Headers, "content-type"));
        Assert.Contains(traceId, DeadLetters.Header(record.Message.Headers, "traceparent"), StringComparison.Ordinal);
        var command = InterventionCloudEvents.Decode(record.Message.Value);
        Assert.Equal(("setup-task-failing", "clarification", "in_app"), (command.RuleId, command.Moment, command.Channel));
        Assert.Equal("Trying to set up notifications? Tap here for a 15-second video walkthrough", command.Message.Body);
        Assert.Equal(3, command.Trigger.EventIds.Count);
    }

    [Fact]
    public async Task Explain_AfterAnIntervention_ShowsStateTimersAndDecisions()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        using var output = streams.Read(streams.Output);
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-x", Track("u-x", "Task Failed", T0.AddSeconds(i), new { task = "calendar-sync" }));
        }
        await streams.ProduceAsync("u-x", Screen("u-x", "Welcome", T0.AddSeconds(5)));
        await output.WaitForAsync(1);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();
        using var stdout = new StringWriter();

        await Eventually.TrueAsync(async () =>
        {
            stdout.GetStringBuilder().Clear();
            return await Worker.ExplainCommand.RunAsync(["--user", "u-x"], config, stdout, TextWriter.Null, _clock) == 0
                && stdout.ToString().Contains("welcome-dwell", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), "explain shows the user's pending dwell timer");

        var text = stdout.ToString();
        Assert.Contains("setup-task-failing", text, StringComparison.Ordinal);
        Assert.Contains("emitted", text, StringComparison.Ordinal);
        Assert.Contains("archetype", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_MidStream_KeepsStateEmitsNoDuplicateAndTimersStillFire()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        var worker1 = await WorkerHarness.StartAsync(streams, redis, _clock);
        await streams.ProduceAsync("u-fail", Track("u-fail", "Task Failed", T0, new { task = "calendar-sync" }));
        await streams.ProduceAsync("u-fail", Track("u-fail", "Task Failed", T0.AddSeconds(1), new { task = "calendar-sync" }));
        await streams.ProduceAsync("u-dwell", Screen("u-dwell", "Welcome", T0));
        await streams.ProduceAsync("u-cart", Track("u-cart", "Product Added", T0, new { cartId = "c-1" }));
        await Eventually.TrueAsync(async () =>
            (await worker1.Store.FindAsync("u-fail", default))?.State.Windows?.Values.Sum(w => w.Count) == 2
            && (await worker1.Store.FindAsync("u-dwell", default))?.State.Timers is { Count: > 0 }
            && (await worker1.Store.FindAsync("u-cart", default))?.State.Timers is { Count: > 0 },
            TimeSpan.FromSeconds(30), "the first worker saved the state of all three users");
        await worker1.StopAsync();

        await using var worker2 = await WorkerHarness.StartAsync(streams, redis, _clock);
        await streams.ProduceAsync("u-fail", Track("u-fail", "Task Failed", T0.AddSeconds(2), new { task = "calendar-sync" }));
        await output.WaitForAsync(1);
        _clock.Advance(TimeSpan.FromSeconds(91));
        await output.WaitForAsync(2);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var records = await output.WaitForAsync(3);

        var commands = records.Select(r => InterventionCloudEvents.Decode(r.Message.Value)).ToList();
        Assert.Equal(["cart-abandoned", "setup-task-failing", "welcome-dwell"], commands.Select(c => c.RuleId).Order());
        Assert.Equal(commands.Count, commands.Select(c => c.InterventionId).Distinct().Count());
    }

    [Fact]
    public async Task Redelivery_WholeTopicReadAgain_ChangesNothingAndEmitsNoNewId()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        await using (var first = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            for (var i = 0; i < 3; i++)
            {
                await streams.ProduceAsync("u-r", Track("u-r", "Task Failed", T0.AddSeconds(i), new { task = "a" }));
            }
            await output.WaitForAsync(1);
        }

        // A new consumer group starts from offset 0: every record is delivered again.
        await using var second = await WorkerHarness.StartAsync(streams, redis, _clock,
            new Dictionary<string, string?> { ["MicroMoments:Kafka:GroupId"] = streams.GroupId + "-again" });
        await streams.ProduceAsync("u-r", Track("u-r", "Feature Used", T0.AddSeconds(5), new { feature = "x" }));
        await Eventually.TrueAsync(async () =>
            (await second.Store.FindAsync("u-r", default))?.State.FeatureCounts?.ContainsKey("x") == true,
            TimeSpan.FromSeconds(30), "the marker event after the redelivered ones was applied");

        Assert.Single(output.Records);
        var state = (await second.Store.FindAsync("u-r", default))!.Value.State;
        Assert.Null(state.Windows); // the three failures were not counted again
        Assert.Single(state.Sent!);
    }

    [Fact]
    public async Task BadRecords_AreDeadLetteredWithReasonsAndTheStreamGoesOn()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var deadLetters = streams.Read(streams.DeadLetters);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        var oversized = Encoding.UTF8.GetBytes(Track("u-big", "Big", T0, new { blob = new string('x', 1024 * 1024 + 10) }));

        await streams.ProduceAsync("u-bad", "{\"type\":\"track\",\"event\":");
        await streams.ProduceAsync(null, Track("", "Task Failed", T0));
        await streams.ProduceAsync("u-big", oversized);
        await streams.ProduceAsync("u-future", Track("u-future", "Task Failed", T0.AddDays(2)));
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-good", Track("u-good", "Task Failed", T0.AddSeconds(i), new { task = "a" }));
        }

        var dead = await deadLetters.WaitForAsync(4);
        Assert.Equal(["malformed_json", "missing_user_id", "oversized", "future_timestamp"],
            dead.Select(d => DeadLetters.Header(d.Message.Headers, DeadLetters.ReasonHeader)));
        // Over 1 MiB, so its dead letter (within the producer's 1 MiB, as a stock broker's) keeps the first bytes and says so.
        Assert.Equal(oversized.AsSpan(0, dead[2].Message.Value!.Length).ToArray(), dead[2].Message.Value);
        Assert.Equal(oversized.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), DeadLetters.Header(dead[2].Message.Headers, DeadLetters.TruncatedHeader));
        Assert.Equal("u-big", Encoding.UTF8.GetString(dead[2].Message.Key!));
        Assert.All(dead, d =>
        {
            Assert.Equal(streams.Input, DeadLetters.Header(d.Message.Headers, DeadLetters.TopicHeader));
            Assert.Equal("0", DeadLetters.Header(d.Message.Headers, DeadLetters.PartitionHeader));
            Assert.NotNull(DeadLetters.Header(d.Message.Headers, DeadLetters.OffsetHeader));
            Assert.NotNull(DeadLetters.Header(d.Message.Headers, DeadLetters.TimestampHeader));
            Assert.False(string.IsNullOrEmpty(DeadLetters.Header(d.Message.Headers, DeadLetters.MessageHeader)));
        });
        Assert.Equal("u-good", InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value).UserId);
    }
}
