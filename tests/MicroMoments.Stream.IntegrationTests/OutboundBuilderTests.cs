using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The publish stage's first half (no broker needed): a batch's work becomes Kafka messages per shard.</summary>
public sealed class OutboundBuilderTests
{
    private static readonly KafkaOptions Options = new() { OutputTopic = "out", DeadLetterTopic = "dlq", DecisionTopic = "decisions" };
    private static readonly OutboundBuilder Builder = new(Microsoft.Extensions.Options.Options.Create(Options), new ActivitySource("MicroMoments.Stream.Tests"));

    private static readonly RuleEngine Ping = new(RuleSetLoader.Load("""
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: hi } }
        """));

    /// <summary>What the decide stage leaves in the work for one matching event of <paramref name="user"/> on <paramref name="shard"/>.</summary>
    private static void Decided(BatchWork work, string shard, string user)
    {
        var source = new RecordSource("in", 0, 1, T0);
        var e = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(Track(user, "Ping", T0)), null, source, T0).Event!;
        work.Add(shard, Ping.Apply(new UserState { UserId = user }, e, source, T0), default);
    }

    [Fact]
    public void Build_CommandsAndDeadLetterOfTwoShards_GroupedByShardWithIdsOnCommandsOnly()
    {
        var work = new BatchWork();
        Decided(work, "in:0", "a");
        Decided(work, "in:1", "b");
        var source = new SourceRecord("in", 1, 42, T0.UtcDateTime, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("{bad"),
            [new("traceparent", Encoding.UTF8.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))]);
        work.Reject("in:1", source, "malformed_json", "not JSON");

        var byShard = Builder.Build(work);

        Assert.Equal(["out", "decisions"], byShard["in:0"].Select(m => m.Topic));
        Assert.Equal(["out", "decisions", "dlq"], byShard["in:1"].Select(m => m.Topic));
        Assert.NotNull(byShard["in:1"][0].InterventionId);
        var dead = byShard["in:1"][2];
        Assert.Null(dead.InterventionId);
        Assert.Equal("malformed_json", dead.DeadLetterReason);
        Assert.Equal("{bad"u8.ToArray(), dead.Message.Value);
        Assert.Equal("42", DeadLetters.Header(dead.Message.Headers, DeadLetters.OffsetHeader));
        Assert.NotNull(DeadLetters.Header(dead.Message.Headers, "traceparent")); // the original headers, kept
    }

    [Fact]
    public void Build_NoDecisionTopic_CommandsOnly()
    {
        var builder = new OutboundBuilder(Microsoft.Extensions.Options.Options.Create(new KafkaOptions { OutputTopic = "out" }), new ActivitySource("MicroMoments.Stream.Tests"));
        var work = new BatchWork();
        Decided(work, "in:0", "a");

        var message = Assert.Single(builder.Build(work)["in:0"]);

        Assert.Equal(("out", "a"), (message.Topic, Encoding.UTF8.GetString(message.Message.Key!)));
        Assert.Equal("ping", message.Command!.RuleId);
    }
}
