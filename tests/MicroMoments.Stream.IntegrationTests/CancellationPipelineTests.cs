using System.Text;
using System.Text.Json;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Delivery validation on the live worker: the cancellation goes through the same outbox path as the command.</summary>
[Collection(InfraCollection.Name)]
public sealed class CancellationPipelineTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    [Fact]
    public async Task OrderCompletedBeforeDeliverAfter_CancellationKeyedAsCommandAndNotResentAfterRestart()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        using var decisions = streams.Read(streams.Decisions);
        var worker1 = await WorkerHarness.StartAsync(streams, redis, _clock);
        await streams.ProduceAsync("u-cart", Track("u-cart", "Product Added", T0, new { cartId = "c-1" }));
        await Eventually.TrueAsync(async () => (await worker1.Store.FindAsync("u-cart", default))?.State.Timers is { Count: > 0 },
            TimeSpan.FromSeconds(30), "the cart's absence timer is armed");

        // The fake clock stands still after the timer fires: the default cart nudge (delay 2.3 s) stays pending.
        _clock.Advance(TimeSpan.FromMinutes(5));
        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal("cart-abandoned", command.RuleId);
        Assert.True(command.DeliverAfter > _clock.GetUtcNow());
        await streams.ProduceAsync("u-cart", Track("u-cart", "Order Completed", T0.AddMinutes(5), new { cartId = "c-1" }));
        var records = await output.WaitForAsync(2);
        await Eventually.TrueAsync(() => decisions.Records.Any(r => Encoding.UTF8.GetString(r.Message.Value!).Contains("\"outcome\":\"cancelled\"", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "a cancelled decision on the decisions topic");
        await worker1.StopAsync();

        // After a restart, a second cancelOn event and a marker that emits a command of its own.
        await using var worker2 = await WorkerHarness.StartAsync(streams, redis, _clock);
        await streams.ProduceAsync("u-cart", Track("u-cart", "Order Completed", T0.AddMinutes(5).AddSeconds(1), new { cartId = "c-1" }));
        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-cart", Track("u-cart", "Task Failed", T0.AddMinutes(5).AddSeconds(2 + i), new { task = "a" }));
        }
        var all = await output.WaitForAsync(3);

        Assert.Equal(3, all.Count);
        Assert.Equal(records[0].Message.Key, records[1].Message.Key);
        Assert.Equal((records[0].Partition, records[0].Offset.Value + 1), (records[1].Partition, records[1].Offset.Value));
        var cancellation = JsonDocument.Parse(records[1].Message.Value).RootElement;
        Assert.Equal((InterventionCancellation.EventType, "u-cart"), (cancellation.GetProperty("type").GetString(), cancellation.GetProperty("subject").GetString()));
        Assert.Equal((command.InterventionId, "cancel_on:order completed"),
            (cancellation.GetProperty("data").GetProperty("interventionId").GetString(), cancellation.GetProperty("data").GetProperty("reason").GetString()));
        Assert.Equal("setup-task-failing", InterventionCloudEvents.Decode(all[2].Message.Value).RuleId);
        Assert.Null((await worker2.Store.FindAsync("u-cart", default))!.Value.State.PendingDeliveries);
    }
}
