using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Cancellations in the publish stage's messages (no broker needed): in decision order, with an id the outbox checks.</summary>
public sealed class CancellationOutboundTests
{
    private static readonly KafkaOptions Options = new() { OutputTopic = "out", DeadLetterTopic = "dlq" };
    private static readonly OutboundBuilder Builder = new(Microsoft.Extensions.Options.Options.Create(Options), new ActivitySource("MicroMoments.Stream.Tests"));

    private static readonly RuleEngine Ping = new(RuleSetLoader.Load("""
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, delay: 1h, message: { body: hi } }
        """));

    private static InterventionCommand Decided(BatchWork work, string user)
    {
        var source = new RecordSource("in", 0, 1, T0);
        var e = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(Track(user, "Ping", T0)), null, source, T0).Event!;
        var evaluation = Ping.Apply(new UserState { UserId = user }, e, source, T0);
        work.Add("in:0", evaluation, default);
        return Assert.Single(evaluation.Interventions);
    }

    [Fact]
    public void Build_CancellationBetweenCommandsOfOneBatch_KeepsDecisionOrderWithItsIdAndKey()
    {
        var work = new BatchWork();
        var first = Decided(work, "a");
        var withdrawn = new Evaluation();
        var cancellation = new InterventionCancellation(first.InterventionId, "a", "ping", CancelReasons.DismissalPause, T0);
        withdrawn.Cancellations.Add(cancellation);
        work.Add("in:0", withdrawn, default);
        var second = Decided(work, "b");

        var messages = Builder.Build(work)["in:0"];

        Assert.Equal([first.InterventionId, cancellation.Id, second.InterventionId], messages.Select(m => m.InterventionId));
        Assert.Equal("a", Encoding.UTF8.GetString(messages[1].Message.Key!));
        Assert.Equal("application/cloudevents+json", DeadLetters.Header(messages[1].Message.Headers, "content-type"));
        Assert.Equal(cancellation.Id, InterventionCloudEvents.ReadId(messages[1].Message.Value)); // what outbox recovery looks for
        Assert.NotEqual(first.InterventionId, cancellation.Id);
    }
}
