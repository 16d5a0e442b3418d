using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class LoadStageTests
{
    private readonly UserStateCache _cache = new(1000);
    private readonly InMemoryStateReader _reader = new();
    private LoadStage Stage() => new(_cache, _reader);

    [Fact]
    public async Task LoadAsync_UsersOfTwoShards_OneReadPerShardAndNewUsersMarked()
    {
        _reader.States[("s:0", "old")] = new UserState { UserId = "old" };
        var work = new BatchWork();

        await Stage().LoadAsync([("s:0", "old"), ("s:0", "new"), ("s:1", "other"), ("s:0", "old")], work, CancellationToken.None);

        Assert.Equal(2, _reader.Loads.Count);
        Assert.True(_cache.TryGet("s:0", "old", out var old) && ReferenceEquals(_reader.States[("s:0", "old")], old));
        Assert.True(_cache.TryGet("s:0", "new", out _));
        Assert.Equal(["new"], work.NewUsers["s:0"]);
        Assert.Equal(["other"], work.NewUsers["s:1"]);
    }

    [Fact]
    public async Task LoadAsync_UsersCached_NoRead()
    {
        _cache.Set("s:0", new UserState { UserId = "u" });

        await Stage().LoadAsync([("s:0", "u")], new BatchWork(), CancellationToken.None);

        Assert.Empty(_reader.Loads);
    }

    [Fact]
    public async Task LoadAliasedAsync_PreviousUserOnAnotherInstancesShard_ReadNotCachedTimersLeft()
    {
        _reader.States[("s:9", "anon")] = new UserState { UserId = "anon" };
        var parsed = Parse(Record("known", "Ping", T0, 1, previousId: "anon"), Record("known", "Ping", T0, 2, previousId: "never-seen"));
        var work = new BatchWork();

        var owned = await Stage().LoadAliasedAsync(parsed, _ => false, work, CancellationToken.None);

        Assert.Empty(owned);
        Assert.False(_cache.TryGet("s:9", "anon", out _));
        Assert.True(work.Aliases.Take("anon", out var aliased));
        Assert.False(aliased.Owned);
        Assert.Null(aliased.State.Timers);
        Assert.True(work.Aliases.IsNotFound("never-seen"));
    }

    [Fact]
    public async Task LoadAliasedAsync_PreviousUserOnOwnedShard_CachedAndShardReturnedForItsEpoch()
    {
        _reader.States[("s:3", "anon")] = new UserState { UserId = "anon" };
        var work = new BatchWork();

        var owned = await Stage().LoadAliasedAsync(Parse(Record("known", "Ping", T0, 1, previousId: "anon")), s => s == "s:3", work, CancellationToken.None);

        Assert.Equal(["s:3"], owned);
        Assert.True(_cache.TryGet("s:3", "anon", out _));
    }

    private static List<ParsedRecord> Parse(params SourceRecord[] records) =>
        new ParseStage(new ClickEventParser(new ParserLimits()), ShardOf, new RecordingEvents()).Parse(records, new BatchWork(), T0).ToList();

    [Fact]
    public async Task LoadAsync_UnreadableState_UserStartsFreshIsSavedAndDeadLettered()
    {
        _reader.States[("s:0", "good")] = new UserState { UserId = "good", LastEventAt = 7 };
        _reader.Unreadable[("s:0", "bad")] = "GARBAGE"u8.ToArray();
        var work = new BatchWork();

        await Stage().LoadAsync([("s:0", "good"), ("s:0", "bad")], work, CancellationToken.None);

        Assert.True(_cache.TryGet("s:0", "bad", out var fresh) && fresh.LastEventAt == 0 && fresh.ReindexTimers);
        Assert.Same(fresh, work.Dirty["s:0"]["bad"]);
        Assert.True(_cache.TryGet("s:0", "good", out var good) && good.LastEventAt == 7);
        var dead = Assert.Single(work.DeadLetters);
        Assert.Equal(("state_unreadable", "s", 0, -1L), (dead.Reason, dead.Record.Topic, dead.Record.Partition, dead.Record.Offset));
        Assert.Equal("GARBAGE"u8.ToArray(), dead.Record.Value);
        Assert.Equal("bad", Assert.Single(work.Quarantined).UserId);
        Assert.False(work.NewUsers.TryGetValue("s:0", out var added) && added.Contains("bad"));
    }
}
