using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.Simulation;
using static MicroMoments.Stream.Core.Tests.LearnedSegments.SegmentLines;

namespace MicroMoments.Stream.Core.Tests.LearnedSegments;

/// <summary><c>user.cluster</c> in a rule's <c>when</c>: the nearest learned segment of the user as the event finds them.</summary>
public sealed class UserClusterRuleTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        version: t
        rules:
          - id: help-the-struggling
            trigger: { kind: event, event: Help Probe }
            when:
              - { path: user.cluster, equals: struggling }
            action: { moment: clarification, channel: in_app, message: { body: "You are {{user.cluster}}" } }
        """);

    private static List<string> Story()
    {
        var lines = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            lines.Add(Track("failing", "Task Failed", T.AddMinutes(i), new { task = "import" }));
            lines.Add(Track("fine", "Task Completed", T.AddMinutes(i), new { task = "import" }));
        }
        lines.Add(Track("failing", "Help Probe", T.AddMinutes(5)));
        lines.Add(Track("fine", "Help Probe", T.AddMinutes(5)));
        return lines;
    }

    private static OfflineSimulation Run(SegmentModel? segments)
    {
        var simulation = new OfflineSimulation(Rules, segments);
        var n = 0;
        foreach (var line in Story())
        {
            Assert.True(simulation.Feed(line, ++n).IsValid);
        }
        return simulation;
    }

    [Fact]
    public void When_UserClusterEqualsASegment_FiresOnlyForUsersInIt()
    {
        var simulation = Run(SegmentModelTests.TwoSegments());

        var command = Assert.Single(simulation.Interventions);
        Assert.Equal(("failing", "You are struggling"), (command.UserId, command.Message.Body));
    }

    [Fact]
    public void When_UserClusterWithNoSegmentsLoaded_NeverHolds()
    {
        Assert.Empty(Run(segments: null).Interventions);
    }

    [Fact]
    public void Resolve_UserCluster_KnownPathAndNullWithoutSegments()
    {
        var state = new State.UserState { UserId = "u", Behaviour = new State.BehaviourCounts { Events = 1, ActiveDays = 1 } };

        Assert.True(ValuePaths.IsKnown("user.cluster"));
        Assert.Null(ValuePaths.Resolve("user.cluster", new ValueContext(state, Rules, T)));
        Assert.Equal("active engager", ValuePaths.Resolve("user.cluster", new ValueContext(state, Rules, T) { Segments = SegmentModelTests.TwoSegments() }));
    }
}
