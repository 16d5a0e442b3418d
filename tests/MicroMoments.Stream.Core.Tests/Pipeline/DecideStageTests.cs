using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class DecideStageTests
{
    private static readonly RuleEngine Ping = new(RuleSetLoader.Load("""
        rules:
          - id: ping
            trigger: { kind: event, event: Ping }
            action: { moment: reward, channel: toast, message: { body: hi } }
          - id: welcome
            trigger: { kind: dwell, view: Welcome, after: 90s }
            action: { moment: curiosity, channel: in_app, message: { body: hi } }
        """));

    private readonly UserStateCache _cache = new(1000);
    private readonly RecordingEvents _events = new();
    private readonly ParseStage _parse;
    private readonly DecideStage _decide;

    public DecideStageTests()
    {
        _parse = new ParseStage(new ClickEventParser(new ParserLimits()), ShardOf, _events);
        _decide = new DecideStage(() => Ping, _cache, _events);
    }

    private List<ParsedRecord> Loaded(BatchWork work, params SourceRecord[] records)
    {
        var parsed = _parse.Parse(records, work, T0);
        foreach (var p in parsed)
        {
            if (!_cache.TryGet(p.Shard, p.Event.UserId, out _))
            {
                _cache.Set(p.Shard, new UserState { UserId = p.Event.UserId });
            }
        }
        return parsed;
    }

    [Fact]
    public void Apply_MatchingEvent_CommandDirtyUserAndAppliedCount()
    {
        var work = new BatchWork();
        var parsed = Loaded(work, Record("u-1", "Ping", T0, 1));

        _decide.Apply(parsed, work, T0);

        var (shard, command, _) = Assert.Single(work.Interventions);
        Assert.Equal(("clickstream:0", "ping", "u-1"), (shard, command.RuleId, command.UserId));
        Assert.Contains("u-1", work.Dirty["clickstream:0"].Keys);
        Assert.Equal(1, work.Outcomes[(Topic, "applied")]);
        Assert.Empty(parsed); // emptied: the events do not outlive the batch
    }

    [Fact]
    public void Apply_SameRecordTwice_SecondCountedAsDuplicate()
    {
        var work = new BatchWork();

        _decide.Apply(Loaded(work, Record("u-1", "Ping", T0, 1), Record("u-1", "Ping", T0, 1)), work, T0);

        Assert.Equal(1, work.Outcomes[(Topic, "duplicate")]);
        Assert.Single(work.Interventions);
    }

    [Fact]
    public void Apply_RuleThrows_RecordDeadLetteredOthersGoOn()
    {
        var calls = 0;
        var decide = new DecideStage(() => ++calls == 1 ? null! : Ping, _cache, _events);
        var work = new BatchWork();

        decide.Apply(Loaded(work, Record("u-1", "Ping", T0, 1)), work, T0);

        Assert.Equal(RejectReasons.RuleError, Assert.Single(work.DeadLetters).Reason);
        Assert.Single(_events.RuleFailures);
        Assert.Contains("u-1", work.Dirty["clickstream:0"].Keys);
    }

    [Fact]
    public void Apply_TwoAliasesOfOnePreviousUser_MergeTriedOnce()
    {
        var work = new BatchWork();
        var parsed = Loaded(work, Record("known", "Ping", T0, 1, previousId: "anon"), Record("known", "Ping", T0.AddSeconds(1), 2, previousId: "anon"));
        var anon = new UserState { UserId = "anon" };
        Ping.Apply(anon, TestEvents.Track("anon", "Ping", T0.AddMinutes(-5)), Next(), T0.AddMinutes(-5));
        _cache.Set("clickstream:1", anon);
        work.Aliases.Found("anon", "clickstream:1", anon, owned: true);

        _decide.Apply(parsed, work, T0.AddSeconds(1));

        Assert.Single(_events.AliasOutcomes);
        Assert.False(work.Aliases.Take("anon", out _));
    }

    [Fact]
    public void FireTimers_DueDwell_CommandAndIndexReScored()
    {
        var state = new UserState { UserId = "u-1" };
        Ping.Apply(state, TestEvents.Screen("u-1", "Welcome", T0), Next(), T0);
        _cache.Set("clickstream:0", state);
        var work = new BatchWork();

        _decide.FireTimers("clickstream:0", ["u-1", "not-cached"], work, T0.AddMinutes(2));

        Assert.Equal("welcome", Assert.Single(work.Interventions).Command.RuleId);
        Assert.True(state.ReindexTimers);
        Assert.Equal(["u-1"], work.Dirty["clickstream:0"].Keys);
    }
}
