using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// The outbox closes the window between a batch's state write and Kafka's acks: an owner that stopped there
/// leaves its messages in Redis, and the next owner re-sends exactly the commands the output topic lacks.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class OutboxTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    private static string IdOf(ConsumeResult<byte[]?, byte[]?> r) => InterventionCloudEvents.ReadId(r.Message.Value) ?? "";

    [Fact]
    public async Task OutboxLeftByCrashedOwner_NextOwnerResendsOnlyWhatKafkaLacks()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var output = streams.Read(streams.Output);
        var shard = $"{streams.Input}:0";

        // A first owner emits one command, then stops cleanly: its outbox is cleared after the acks.
        await using (var first = await WorkerHarness.StartAsync(streams, redis, _clock))
        {
            for (var i = 0; i < 3; i++)
            {
                await streams.ProduceAsync("u-1", Track("u-1", "Task Failed", T0.AddSeconds(i), new { task = "calendar-sync" }));
            }
            await output.WaitForAsync(1);
        }
        var sent = Assert.Single(output.Records);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var outboxKey = $"{streams.KeyPrefix}{{{shard}}}:outbox";
        Assert.False(await connection.GetDatabase().KeyExistsAsync(outboxKey));

        // What a crash between the write and the acks leaves: the sent command and one Kafka never got.
        var lost = InterventionCloudEvents.Decode(sent.Message.Value) with { InterventionId = Guid.NewGuid().ToString(), RuleId = "lost-in-crash" };
        Outbound Command(byte[] value) => new(streams.Output, new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes("u-1"),
            Value = value,
            Headers = new Headers { { "content-type", Encoding.UTF8.GetBytes(InterventionCloudEvents.ContentType) } },
        }, InterventionCloudEvents.ReadId(value));
        var blob = Outbox.Encode(new Dictionary<int, long> { [0] = 0 }, [Command(sent.Message.Value!), Command(InterventionCloudEvents.Encode(lost))]);
        var decoded = Outbox.Decode(blob);
        Assert.Equal([IdOf(sent), lost.InterventionId], decoded.Messages.Select(m => m.InterventionId));
        await connection.GetDatabase().StringSetAsync(outboxKey, blob);

        // The next owner settles the outbox when it takes the shard, then goes on with new traffic.
        await using var second = await WorkerHarness.StartAsync(streams, redis, _clock);
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-2", Track("u-2", "Task Failed", T0.AddSeconds(10 + i), new { task = "calendar-sync" }));
        }
        await Eventually.TrueAsync(() => output.Records.Any(r => InterventionCloudEvents.Decode(r.Message.Value).UserId == "u-2"),
            TimeSpan.FromSeconds(30), "the next owner's own command");

        var ids = output.Records.Select(IdOf).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Contains(lost.InterventionId, ids);
        // Cleared after the acks of the next owner's own batch, which may land just after its command is readable.
        await Eventually.TrueAsync(async () => !await connection.GetDatabase().KeyExistsAsync(outboxKey), TimeSpan.FromSeconds(10), "the outbox cleared");
    }
}
