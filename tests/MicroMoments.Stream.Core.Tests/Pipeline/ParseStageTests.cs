using System.Diagnostics;
using System.Text;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using static MicroMoments.Stream.Core.Tests.Pipeline.PipelineFakes;
using static MicroMoments.Stream.Core.Tests.TestEvents;

namespace MicroMoments.Stream.Core.Tests.Pipeline;

public sealed class ParseStageTests
{
    private readonly RecordingEvents _events = new();
    private ParseStage Stage() => new(new ClickEventParser(new ParserLimits()), ShardOf, _events);

    [Fact]
    public void Parse_ValidRecords_EventsInOrderWithShardAndSource()
    {
        var work = new BatchWork();

        var parsed = Stage().Parse([Record("u-1", "Ping", T0, 7), Record("u-2", "Ping", T0, 3, partition: 2)], work, T0);

        Assert.Equal([("u-1", "clickstream:0", 7L), ("u-2", "clickstream:2", 3L)], parsed.Select(p => (p.Event.UserId, p.Shard, p.Source.Offset)));
        Assert.Empty(work.DeadLetters);
    }

    [Fact]
    public void Parse_MalformedAndEmptyRecords_DeadLetteredAndCounted()
    {
        var work = new BatchWork();

        var parsed = Stage().Parse([Raw("{not json", 1), new SourceRecord(Topic, 0, 2, T0.UtcDateTime, null, null), Record("u-1", "Ping", T0, 3)], work, T0);

        Assert.Single(parsed);
        Assert.Equal([1L, 2L], work.DeadLetters.Select(d => d.Record.Offset));
        Assert.All(work.DeadLetters, d => Assert.Equal(RejectReasons.MalformedJson, d.Reason));
        Assert.Equal(2, work.Outcomes[(Topic, "dead_lettered")]);
        Assert.Equal(work.DeadLetters, _events.DeadLetters);
    }

    [Fact]
    public void Parse_TraceparentHeader_BecomesParentContext()
    {
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var record = Record("u-1", "Ping", T0, 1, headers: [new("traceparent", Encoding.UTF8.GetBytes(traceparent))]);

        var parsed = Stage().Parse([record], new BatchWork(), T0);

        Assert.Equal(ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c"), Assert.Single(parsed).Parent.TraceId);
    }

    [Fact]
    public void Parse_LargeBatch_ParsedInParallelStillInOrder()
    {
        var records = Enumerable.Range(0, ParseStage.ParallelFrom + 10).Select(i => Record($"u-{i}", "Ping", T0, i)).ToList();

        var parsed = Stage().Parse(records, new BatchWork(), T0);

        Assert.Equal(records.Select(r => r.Offset), parsed.Select(p => p.Source.Offset));
    }
}
