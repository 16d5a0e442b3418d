using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// A dead letter's <c>mm.*</c> headers are the worker's own: a record that came with a forged <c>mm.error.reason</c>
/// used to be dead-lettered with it first, and a consumer reading the first occurrence saw the lie.
/// </summary>
[Collection(InfraCollection.Name)]
public sealed class DeadLetterHeaderTests(KafkaFixture kafka, RedisFixture redis)
{
    private static readonly DateTime At = new(2026, 11, 24, 10, 0, 0, DateTimeKind.Utc);

    private static string? First(Headers headers, string name) =>
        headers.FirstOrDefault(h => h.Key == name) is { } h ? Encoding.UTF8.GetString(h.GetValueBytes()) : null;

    [Fact]
    public void Create_InboundMmHeaders_RenamedInboundAndAfterTheWorkersOwn()
    {
        var source = new SourceRecord("clickstream", 2, 7, At, "u-1"u8.ToArray(), "{"u8.ToArray(),
        [
            new("mm.error.reason", "spoofed"u8.ToArray()),
            new("MM.Source.Offset", "0"u8.ToArray()),
            new("traceparent", "00-abc"u8.ToArray()),
        ]);

        var dead = DeadLetters.Create(source, RejectReasons.MalformedJson, "not JSON");

        var names = dead.Headers.Select(h => h.Key).ToList();
        Assert.Equal(DeadLetters.ReasonHeader, names[0]);
        Assert.Equal(RejectReasons.MalformedJson, First(dead.Headers, DeadLetters.ReasonHeader));
        Assert.Equal("7", First(dead.Headers, DeadLetters.OffsetHeader));
        Assert.Single(names, n => n == DeadLetters.ReasonHeader);
        Assert.DoesNotContain(names, n => n.StartsWith("mm.", StringComparison.OrdinalIgnoreCase) && !n.StartsWith("mm.error.", StringComparison.Ordinal) && !n.StartsWith("mm.source.", StringComparison.Ordinal));
        Assert.Equal("spoofed", First(dead.Headers, "inbound.mm.error.reason"));
        Assert.Equal("0", First(dead.Headers, "inbound.MM.Source.Offset"));
        Assert.Equal("00-abc", First(dead.Headers, "traceparent"));
        Assert.Equal(source.Value, dead.Value);
    }

    [Fact]
    public void Create_KeyAndHeadersOverTheLimit_HeadersLeftOutKeyCutAndBothSaid()
    {
        var source = new SourceRecord("clickstream", 0, 1, At, new byte[2_000_000], "{}"u8.ToArray(),
            [new("a", "1"u8.ToArray()), new("b", "2"u8.ToArray()), new("mm.error.reason", "spoofed"u8.ToArray())]);

        var dead = DeadLetters.Create(source, RejectReasons.Oversized, "record is 2000002 bytes");

        Assert.True(dead.Key!.Length + dead.Value!.Length + dead.Headers.Sum(h => h.Key.Length + h.GetValueBytes().Length) <= DeadLetters.MaxBytes);
        Assert.Equal(RejectReasons.Oversized, First(dead.Headers, DeadLetters.ReasonHeader));
        Assert.Equal("2000000", First(dead.Headers, DeadLetters.KeyTruncatedHeader));
        Assert.Equal("3", First(dead.Headers, DeadLetters.HeadersDroppedHeader));
        Assert.Equal("{}"u8.ToArray(), dead.Value);
    }

    [Fact]
    public void Minimal_DeadLetterRefusedInTurn_WorkersHeadersAndTheOriginalLengthKept()
    {
        var value = new byte[3_000_000];
        var cut = DeadLetters.Create(new SourceRecord("clickstream", 0, 9, At, "u-1"u8.ToArray(), value, [new("app", "web"u8.ToArray())]),
            RejectReasons.Oversized, "too big");

        var minimal = DeadLetters.Minimal(cut);

        Assert.Empty(minimal.Value!);
        Assert.Equal("3000000", First(minimal.Headers, DeadLetters.TruncatedHeader));
        Assert.Single(minimal.Headers, h => h.Key == DeadLetters.TruncatedHeader);
        Assert.Equal((RejectReasons.Oversized, "9", "web"),
            (First(minimal.Headers, DeadLetters.ReasonHeader), First(minimal.Headers, DeadLetters.OffsetHeader), First(minimal.Headers, "app")));
        Assert.Equal("u-1"u8.ToArray(), minimal.Key);
    }

    [Fact]
    public async Task SpoofedReasonHeader_DeadLetteredByTheWorker_FirstReasonIsTheWorkers()
    {
        using var streams = await TestStreams.CreateAsync(kafka, inputPartitions: 1);
        using var deadLetters = streams.Read(streams.DeadLetters);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, new FakeTimeProvider(T0));

        await streams.ProduceAsync("u-1", "not json", new Headers
        {
            { "mm.error.reason", "spoofed"u8.ToArray() },
            { "mm.source.topic", "elsewhere"u8.ToArray() },
        });

        var dead = Assert.Single(await deadLetters.WaitForAsync(1, TimeSpan.FromSeconds(60))).Message;
        Assert.Equal(RejectReasons.MalformedJson, First(dead.Headers, DeadLetters.ReasonHeader));
        Assert.Equal(streams.Input, First(dead.Headers, DeadLetters.TopicHeader));
        Assert.Single(dead.Headers, h => h.Key == DeadLetters.ReasonHeader);
        Assert.Equal("spoofed", First(dead.Headers, "inbound.mm.error.reason"));
        Assert.Equal("elsewhere", First(dead.Headers, "inbound.mm.source.topic"));
    }
}
