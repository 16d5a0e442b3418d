using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// The dismissal pause's <c>scope</c> (docs/rules.md, "Dismissal pause"): <c>rule</c> pauses the dismissed rule after its own
/// dismissals, <c>user</c> counts distinct dismissed interventions across rules and pauses every rule.
/// </summary>
public sealed class DismissalPausePolicyTests
{
    private static string RulesWith(string pause) => $$"""
        version: dp
        policies:
          dismissalPause: {{pause}}
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: ping } }
          - id: pong
            trigger: { kind: event, event: Pong }
            action: { moment: reward, channel: toast, message: { body: pong } }
          - id: later
            trigger: { kind: event, event: Later }
            action: { moment: education, channel: in_app, delay: 1h, message: { body: later } }
        """;

    private const string UserScope = "{ after: 3, for: 7d, scope: user }";
    private const string RuleScope = "{ after: 3, for: 7d }";

    private readonly UserState _state = new() { UserId = "u1" };
    private RuleEngine _engine = new(RuleSetLoader.Load(RulesWith(UserScope)));
    private DateTimeOffset _at = T0;

    private Evaluation Apply(string name, object? properties = null)
    {
        _at += TimeSpan.FromMinutes(1);
        return _engine.Apply(_state, Track("u1", name, _at, properties), Next(), _at);
    }

    private InterventionCommand Send(string trigger) => Assert.Single(Apply(trigger).Interventions);

    private Evaluation Dismiss(InterventionCommand c) =>
        Apply("Intervention Dismissed", new { interventionId = c.InterventionId, ruleId = c.RuleId });

    private Decision DecisionFor(string trigger) => Assert.Single(Apply(trigger).Decisions);

    [Fact]
    public void Apply_UserScopeTwoDistinctDismissals_NoRulePaused()
    {
        Dismiss(Send("Ping"));
        Dismiss(Send("Pong"));

        Assert.Equal(Outcomes.Emitted, DecisionFor("Ping").Outcome);
        Assert.Equal(Outcomes.Emitted, DecisionFor("Later").Outcome);
    }

    [Fact]
    public void Apply_UserScopeThirdDistinctDismissal_PausesEveryRule()
    {
        Dismiss(Send("Ping"));
        Dismiss(Send("Pong"));
        Dismiss(Send("Ping"));

        // "later" was never sent, let alone dismissed: the pause is the user's, not the dismissed rules'.
        var decisions = new[] { "Ping", "Pong", "Later" }.Select(DecisionFor).ToList();

        Assert.All(decisions, d => Assert.Equal((Outcomes.Suppressed, Reasons.DismissalPause), (d.Outcome, d.Reason)));
        Assert.Equal(0, _state.UserDismissals);
        Assert.Null(_state.Dismissals);
    }

    [Fact]
    public void Apply_RuleScopeThirdDismissalOfOneRule_PausesOnlyThatRule()
    {
        _engine = new RuleEngine(RuleSetLoader.Load(RulesWith(RuleScope)));
        for (var i = 0; i < 3; i++)
        {
            Dismiss(Send("Ping"));
        }

        Assert.Equal(Reasons.DismissalPause, DecisionFor("Ping").Reason);
        Assert.Equal(Outcomes.Emitted, DecisionFor("Pong").Outcome);
        Assert.Equal(0, _state.UserPausedUntil);
    }

    [Fact]
    public void Apply_RuleScopeThreeDismissalsAcrossRules_PauseNothing()
    {
        _engine = new RuleEngine(RuleSetLoader.Load(RulesWith(RuleScope)));
        Dismiss(Send("Ping"));
        Dismiss(Send("Pong"));
        Dismiss(Send("Ping"));

        Assert.Equal(Outcomes.Emitted, DecisionFor("Ping").Outcome);
        Assert.Equal(Outcomes.Emitted, DecisionFor("Pong").Outcome);
    }

    [Fact]
    public void Apply_UserScopePauseDurationPassed_RulesEmitAgain()
    {
        Dismiss(Send("Ping"));
        Dismiss(Send("Pong"));
        Dismiss(Send("Ping"));
        var pausedAt = _at;

        _at = pausedAt + TimeSpan.FromDays(7) - TimeSpan.FromMinutes(2); // Apply adds a minute: one minute before the end
        var lastMinute = DecisionFor("Pong");
        _at = pausedAt + TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1); // exactly at the end
        var atTheEnd = DecisionFor("Pong");

        Assert.Equal(Reasons.DismissalPause, lastMinute.Reason);
        Assert.Equal(Outcomes.Emitted, atTheEnd.Outcome);
    }

    [Fact]
    public void Apply_UserScopeOneDismissalReportedThreeTimes_CountsOnce()
    {
        var sent = Send("Ping");
        for (var i = 0; i < 3; i++)
        {
            Dismiss(sent);
        }
        Dismiss(Send("Pong"));

        Assert.Equal(2, _state.UserDismissals);
        Assert.Equal(Outcomes.Emitted, DecisionFor("Ping").Outcome);
    }

    [Fact]
    public void Apply_UserScopePauseWhileAnotherRuleIsPending_CancelsItsCommand()
    {
        var pending = Send("Later"); // deliverAfter an hour ahead
        Dismiss(Send("Ping"));
        Dismiss(Send("Pong"));

        var result = Dismiss(Send("Ping"));

        var cancellation = Assert.Single(result.Cancellations);
        Assert.Equal((pending.InterventionId, "later", CancelReasons.DismissalPause),
            (cancellation.InterventionId, cancellation.RuleId, cancellation.Reason));
        Assert.Contains(result.Decisions, d => d.Outcome == Outcomes.Cancelled && d.Reason == Reasons.DismissalPause && d.RuleId == "later");
        Assert.Null(_state.PendingDeliveries);
    }

    [Fact]
    public void Load_ScopeTeam_RejectedWithItsLine()
    {
        var ex = Assert.Throws<RuleSetException>(() => RuleSetLoader.Load("""
            version: dp
            policies:
              dismissalPause:
                after: 3
                for: 7d
                scope: team
            rules: []
            """));

        var error = Assert.Single(ex.Errors);
        Assert.Equal(6, error.Line);
        Assert.Contains("'scope' must be rule or user, not 'team'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ after: 3, for: 7d }", DismissalPauseScope.Rule)]
    [InlineData("{ after: 3, for: 7d, scope: rule }", DismissalPauseScope.Rule)]
    [InlineData("{ after: 3, for: 7d, scope: user }", DismissalPauseScope.User)]
    public void Load_Scope_ReadAsWrittenAndRuleWhenLeftOut(string pause, DismissalPauseScope expected)
    {
        var rules = RuleSetLoader.Load(RulesWith(pause));

        Assert.Equal(new DismissalPauseSpec(3, TimeSpan.FromDays(7), expected), rules.Policy.DismissalPause);
    }

    [Fact]
    public void Serialize_UserWideCountAndPause_RoundTripInBothForms()
    {
        var state = new UserState { UserId = "a", LastEventAt = 1_795_000_000_000, UserDismissals = 2, UserPausedUntil = 1_795_604_800_000 };

        var binary = UserStateSerializer.Deserialize(UserStateSerializer.Serialize(state));
        var json = UserStateSerializer.Deserialize(UserStateSerializer.ToJson(state));

        Assert.Equal((2, 1_795_604_800_000L), (binary.UserDismissals, binary.UserPausedUntil));
        Assert.Equal((2, 1_795_604_800_000L), (json.UserDismissals, json.UserPausedUntil));
        Assert.Contains("\"up\":1795604800000", Encoding.UTF8.GetString(UserStateSerializer.ToJson(state)), StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_StateWrittenBeforeUserScope_NoUserWidePause()
    {
        // Format 1 as earlier versions wrote it for user "a" (version, field bits: the user id only, the id), and JSON.
        byte[] old = [LegacyFormat1.Version1, 0x01, 0x04, (byte)'a'];

        var binary = UserStateSerializer.Deserialize(old);
        var json = UserStateSerializer.Deserialize("""{"u":"a","wm":{},"dm":{"ping":2}}"""u8);

        Assert.Equal((0, 0L), (binary.UserDismissals, binary.UserPausedUntil));
        Assert.Equal((0, 0L, 2), (json.UserDismissals, json.UserPausedUntil, json.Dismissals!["ping"]));
    }
}
