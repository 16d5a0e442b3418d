using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// What the worker produces fits a stock broker's 1 MiB message limit (the worker's producer has the same limit), and a
/// message the broker refuses all the same is dead-lettered instead of stopping the worker: it used to exit, and on
/// restart its outbox recovery sent the same message and exited again.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class OutputSizeTests(KafkaFixture kafka, RedisFixture redis) : IDisposable
{
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-output-size-").FullName;

    /// <summary>An event rule: its command's trigger details are the event's properties, whatever their size.</summary>
    private Dictionary<string, string?> Rules(Dictionary<string, string?>? more = null)
    {
        var path = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(path, """
            version: "size"
            rules:
              - id: content-shared
                trigger: { kind: event, event: Content Shared }
                action: { moment: reward, channel: toast, message: { body: "Thanks for sharing" } }
            """);
        var config = new Dictionary<string, string?> { ["MicroMoments:Rules:Path"] = path };
        foreach (var (k, v) in more ?? [])
        {
            config[k] = v;
        }
        return config;
    }

    private static string Reason(ConsumeResult<byte[]?, byte[]?> r) => DeadLetters.Header(r.Message.Headers, DeadLetters.ReasonHeader) ?? "";

    private static string UserOf(ConsumeResult<byte[]?, byte[]?> r) => InterventionCloudEvents.Decode(r.Message.Value).UserId;

    private static long SizeOf(Message<byte[]?, byte[]?> m) =>
        (m.Key?.Length ?? 0) + (m.Value?.Length ?? 0) + m.Headers.Sum(h => h.Key.Length + h.GetValueBytes().Length);

    [Fact]
    public async Task CommandRefusedByBroker_DeadLetteredCommandTooLarge_LaterUsersStillGetCommands()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        var logs = new ListLoggerProvider();
        // A broker whose limit is below the command budget (a topic's max.message.bytes set low), as the client enforces it.
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock,
            Rules(new() { ["MicroMoments:Kafka:Client:message.max.bytes"] = "300000" }), b => b.Logging.AddProvider(logs));

        await streams.ProduceAsync("u-big", Track("u-big", "Content Shared", T0, new { note = new string('x', 400_000) }));
        await streams.ProduceAsync("u-next", Track("u-next", "Content Shared", T0.AddSeconds(1)));

        Assert.Equal("u-next", UserOf(Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)))));
        // The decision record carries the same trigger details: refused as well, and dead-lettered with its own reason.
        var refused = (await deadLetters.WaitForAsync(2, TimeSpan.FromSeconds(30))).ToDictionary(Reason);
        Assert.Equal([ProduceRefusals.CommandTooLarge, ProduceRefusals.DecisionTooLarge], refused.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(streams.Decisions, DeadLetters.Header(refused[ProduceRefusals.DecisionTooLarge].Message.Headers, DeadLetters.TopicHeader));
        var dead = refused[ProduceRefusals.CommandTooLarge];
        Assert.Equal(streams.Output, DeadLetters.Header(dead.Message.Headers, DeadLetters.TopicHeader));
        Assert.Equal("u-big", Encoding.UTF8.GetString(dead.Message.Key!));
        // The dead letter itself was over that broker's limit too: it went out with its headers only.
        Assert.NotNull(DeadLetters.Header(dead.Message.Headers, DeadLetters.TruncatedHeader));
        Assert.Contains(logs.Lines, l => l.Contains("dead-lettered as command_too_large", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => streams.InputProgress() == (2, 0), TimeSpan.FromSeconds(30), "both offsets committed");
    }

    [Fact]
    public async Task OversizedCommandInOutbox_Restart_DeadLetteredAndTheWorkerGoesOn()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        // What a worker before the user id limit left in its outbox: a command keyed by a 400,000-character id, which
        // repeats it, 1.2 MB in all; a stock broker refuses it.
        var userId = new string('u', 400_000);
        var command = new InterventionCommand
        {
            InterventionId = InterventionIds.Create(userId, "content-shared", "m-1"),
            UserId = userId, RuleId = "content-shared", RuleVersion = "size", Moment = "reward", Channel = "toast", Priority = 50, Intent = "do",
            Message = new InterventionMessage("", "Thanks for sharing", null),
            DeliverAfter = T0, ExpiresAt = T0.AddHours(1),
            Trigger = new TriggerInfo("event", ["m-1"], new Dictionary<string, object>()),
            User = new UserSummary("explorer", "newcomer", null, null),
            DecidedAt = T0,
        };
        var value = InterventionCloudEvents.Encode(command);
        var blob = Outbox.Encode(new Dictionary<int, long> { [0] = 0 }, [new Outbound(streams.Output, new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes(userId),
            Value = value,
            Headers = new Headers { { "content-type", Encoding.UTF8.GetBytes(InterventionCloudEvents.ContentType) } },
        }, command.InterventionId)]);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await connection.GetDatabase().StringSetAsync($"{streams.KeyPrefix}{{{streams.Input}:0}}:outbox", blob);

        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, Rules());
        await streams.ProduceAsync("u-next", Track("u-next", "Content Shared", T0));

        Assert.Equal("u-next", UserOf(Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)))));
        var dead = Assert.Single(await deadLetters.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(ProduceRefusals.CommandTooLarge, Reason(dead));
        Assert.Equal(userId, Encoding.UTF8.GetString(dead.Message.Key!));
        Assert.Equal(value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), DeadLetters.Header(dead.Message.Headers, DeadLetters.TruncatedHeader));
        Assert.Equal(value.AsSpan(0, dead.Message.Value!.Length).ToArray(), dead.Message.Value);
        Assert.InRange(SizeOf(dead.Message), 900_000, DeadLetters.MaxBytes);
        Assert.True(worker.Health.Running, "the worker is still consuming");
    }

    [Fact]
    public async Task CompressibleTwoMebibyteRecord_DeadLetteredWithTruncatedValueAndHeader()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, Rules());
        var huge = Encoding.UTF8.GetBytes(Track("u-huge", "Content Shared", T0, new { note = new string('x', 2 * 1024 * 1024) }));
        // Compressed to a few kilobytes on the wire: it passes a broker's 1 MiB limit and is 2 MiB once read.
        using (var compressing = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = streams.BootstrapServers, Partitioner = KafkaClientConfigs.KeyPartitioner, CompressionType = CompressionType.Zstd,
            MessageMaxBytes = 4 * 1024 * 1024,
        }).Build())
        {
            await compressing.ProduceAsync(streams.Input, new Message<byte[], byte[]>
            {
                Key = "u-huge"u8.ToArray(), Value = huge, Headers = new Headers { { "app", "web"u8.ToArray() } },
            });
        }
        await streams.ProduceAsync("u-next", Track("u-next", "Content Shared", T0.AddSeconds(1)));

        Assert.Equal("u-next", UserOf(Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)))));
        var dead = Assert.Single(await deadLetters.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(RejectReasons.Oversized, Reason(dead));
        Assert.Equal(huge.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), DeadLetters.Header(dead.Message.Headers, DeadLetters.TruncatedHeader));
        Assert.Equal(huge.AsSpan(0, dead.Message.Value!.Length).ToArray(), dead.Message.Value);
        Assert.Equal("web", DeadLetters.Header(dead.Message.Headers, "app"));
        Assert.InRange(SizeOf(dead.Message), 900_000, DeadLetters.MaxBytes);
    }

    [Fact]
    public async Task UserIdOf400000Characters_DeadLetteredUserIdTooLong_NoCommand()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        using var deadLetters = streams.Read(streams.DeadLetters);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, Rules());
        var longId = new string('u', 400_000);

        await streams.ProduceAsync("k-long", Track(longId, "Content Shared", T0));
        await streams.ProduceAsync("u-next", Track("u-next", "Content Shared", T0.AddSeconds(1)));

        Assert.Equal("u-next", UserOf(Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)))));
        var dead = Assert.Single(await deadLetters.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(RejectReasons.UserIdTooLong, Reason(dead));
        await Eventually.TrueAsync(() => streams.InputProgress() == (2, 0), TimeSpan.FromSeconds(30), "both offsets committed");
        Assert.Single(output.Records);
    }

    [Fact]
    public async Task PropertyOverTheBudget_CommandCutWithMarkerWithinBudget()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, Rules());

        // 950,000 characters: the event is under the 1 MiB record limit, its command would be over the budget.
        await streams.ProduceAsync("u-long", Track("u-long", "Content Shared", T0, new { note = new string('x', 950_000), task = "short" }));

        var record = Assert.Single(await output.WaitForAsync(1, TimeSpan.FromSeconds(60)));
        Assert.InRange(record.Message.Value!.Length, 800_000, CommandSizeBudget.MaxValueBytes);
        var details = JsonDocument.Parse(record.Message.Value).RootElement.GetProperty("data").GetProperty("trigger").GetProperty("details");
        Assert.EndsWith(CommandSizeBudget.Marker, details.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal("short", details.GetProperty("task").GetString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
