using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class BatchWorkTests
{
    private static readonly RuleEngine Ping = new(RuleSetLoader.Load("""
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: hi } }
        """));

    [Fact]
    public void Messages_CancellationsBeforeTheSecondCommandAndAfterAll_EachGoesOutAtItsPlace()
    {
        var work = new BatchWork();
        foreach (var user in new[] { "u-1", "u-2" })
        {
            work.Add("s", Ping.Apply(new UserState { UserId = user }, Track(user, "Ping", T0), Next(), T0), default);
            // A later step of the batch withdraws the user's command: it goes out after everything added before it.
            var withdrawal = new Evaluation();
            withdrawal.Cancellations.Add(new InterventionCancellation($"x-{user[2..]}", user, "ping", "cancel_on", T0));
            work.Add("s", withdrawal, default);
        }

        var order = work.Messages().Select(m => m.Command?.UserId ?? m.Cancellation!.InterventionId);

        Assert.Equal(["u-1", "x-1", "u-2", "x-2"], order);
    }
}
