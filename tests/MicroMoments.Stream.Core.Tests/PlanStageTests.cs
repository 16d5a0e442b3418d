using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Scenario;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Propose → Plan → Record (docs/pipeline.md): the checks Plan makes only read the user's state; what they find is written by
/// Record alone. The auto-pause is the one check that starts something, so it is the one to prove.
/// </summary>
public sealed class PlanStageTests
{
    private static readonly RuleSet Ping = RuleSetLoader.Load("""
        version: plan
        policies:
          autoPause: { after: 3, for: 7d }
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: pong } }
        """);

    private static Scenario ThreeUnanswered()
    {
        var s = new Scenario(Ping);
        for (var i = 0; i < 3; i++)
        {
            s.Track("Ping", TimeSpan.FromDays(i * 2.5));
        }
        return s;
    }

    [Fact]
    public void Check_AutoPauseDue_SaysSoAndWritesNothing()
    {
        var s = ThreeUnanswered();
        var state = s.Simulation.Users["u1"];
        var before = UserStateSerializer.ToJson(state);
        var gate = new PolicyGate(Ping);

        var (reason, starts) = gate.Check(state, Ping.Rules[0], T0 + TimeSpan.FromDays(7.5));

        Assert.Equal(Reasons.AutoPause, reason);
        Assert.True(starts);
        Assert.Equal(before, UserStateSerializer.ToJson(state));
        Assert.Equal(0, state.AutoPausedAt);
    }

    [Fact]
    public void Record_AutoPauseDue_StartsItAtTheDecision()
    {
        var s = ThreeUnanswered();

        s.Track("Ping", TimeSpan.FromDays(7.5));

        Assert.Equal(Reasons.AutoPause, s.DecisionsOf("ping").Last().Reason);
        Assert.Equal((T0 + TimeSpan.FromDays(7.5)).ToUnixTimeMilliseconds(), s.Simulation.Users["u1"].AutoPausedAt);
    }

    [Fact]
    public void Check_Allowed_SameAsCheckDrop()
    {
        var s = new Scenario(Ping);
        s.Track("Ping", TimeSpan.Zero);
        var state = s.Simulation.Users["u1"];
        var gate = new PolicyGate(Ping);
        var at = T0 + TimeSpan.FromMinutes(5);

        Assert.Equal((null, false), gate.Check(state, Ping.Rules[0], at));
        Assert.Null(gate.CheckDrop(state, Ping.Rules[0], at));
    }
}
