using System.Diagnostics.Metrics;
using Confluent.Kafka;
using System.Text;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Kafka;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>
/// Issue 11 in the worker's pipeline (no broker or store needed for these stages): a rule that throws while one
/// user's timer fires affects only that user, an invalid key is dead-lettered, an unknown time zone is counted.
/// </summary>
public sealed class HostileInputPipelineTests : IDisposable
{
    private const string Shard = "clickstream:0";
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _measured = new(StringComparer.Ordinal);
    private readonly FakeTimeProvider _time = new(T0.AddMinutes(5));
    private readonly UserStateCache _cache = new(1000);
    private readonly RuleEngineProvider _engines = new(Options.Create(new RulesOptions()), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()));
    private readonly ParseStage _parse;
    private readonly DecideStage _decide;

    public HostileInputPipelineTests()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, n, _, _) =>
        {
            lock (_measured)
            {
                _measured[i.Name] = _measured.GetValueOrDefault(i.Name) + n;
            }
        });
        _listener.Start();
        var events = new PipelineEvents(new PipelineTelemetry(meters, _engines), NullLogger<PipelineEvents>.Instance);
        _parse = new ParseStage(new ClickEventParser(new ParserLimits()), RedisKeys.Shard, events);
        _decide = new DecideStage(() => _engines.Current, _cache, events);
    }

    private long Measured(string name)
    {
        lock (_measured)
        {
            return _measured.GetValueOrDefault(name);
        }
    }

    private static SourceRecord Record(byte[]? key, string value, long offset) => ConsumedRecord.ToSource(new ConsumeResult<byte[]?, byte[]?>
    {
        Topic = "clickstream",
        Partition = 0,
        Offset = offset,
        Message = new Message<byte[]?, byte[]?> { Key = key, Value = Encoding.UTF8.GetBytes(value), Timestamp = new Timestamp(T0) },
    });

    [Fact]
    public void Item7_InvalidUtf8Keys_NoUserInBody_DeadLetteredInvalidKeyNotMerged()
    {
        var body = """{"type":"track","event":"Ping","timestamp":"2026-11-24T10:00:00Z"}""";
        var work = new BatchWork();

        var parsed = _parse.Parse([Record([(byte)'m', (byte)'-', 0xFF], body, 1), Record([(byte)'m', (byte)'-', 0xFE], body, 2), Record("m-1"u8.ToArray(), body, 3)], work, _time.GetUtcNow());

        Assert.Equal(["m-1"], parsed.Select(p => p.Event.UserId));
        Assert.Equal([RejectReasons.InvalidKey, RejectReasons.InvalidKey], work.DeadLetters.Select(d => d.Reason));
        Assert.Equal([0xFF, 0xFE], work.DeadLetters.Select(d => d.Record.Key![2])); // the original keys, byte for byte
    }

    [Fact]
    public void Item1_FolderTimeZone_Parse_CountedAndTakenAsUtc()
    {
        var work = new BatchWork();
        var line = Track("u-1", "Ping", T0).Replace("Europe/Berlin", "Europe", StringComparison.Ordinal);

        var parsed = _parse.Parse([Record(null, line, 1)], work, _time.GetUtcNow());

        Assert.Null(Assert.Single(parsed).Event.Timezone);
        Assert.Empty(work.DeadLetters);
        Assert.Equal(1, Measured("micromoments.stream.events.unknown_timezone"));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    /// <summary><c>bomb</c> throws when it emits: its command's expiry overflows the calendar, whatever the loader allows.</summary>
    private static RuleSet Rules()
    {
        var rules = RuleSetLoader.Load("""
            version: bombs
            rules:
              - id: bomb
                trigger: { kind: dwell, view: Bomb, after: 90s }
                action: { moment: curiosity, channel: in_app, message: { body: boom } }
              - id: welcome
                trigger: { kind: dwell, view: Welcome, after: 90s }
                action: { moment: curiosity, channel: in_app, message: { body: hi } }
            """);
        return new RuleSet
        {
            Version = rules.Version,
            Policy = rules.Policy,
            Rules = rules.Rules.Select(r => r.Id != "bomb" ? r : new Rule
            {
                Id = r.Id, Trigger = r.Trigger, Policy = r.Policy,
                Action = new ActionSpec { Moment = r.Action.Moment, Channels = r.Action.Channels, Message = r.Action.Message, Category = r.Action.Category, Expiry = TimeSpan.MaxValue },
            }).ToList(),
        };
    }

    [Fact]
    public void RuleThrowsFromTimer_FireTimers_OnlyThatUserIsSkippedAndCounted()
    {
        _engines.Replace(Rules());
        var parser = new ClickEventParser(new ParserLimits());
        var offset = 0;
        foreach (var (user, view) in new[] { ("bad", "Bomb"), ("good", "Welcome") })
        {
            var source = new RecordSource("clickstream", 0, offset++, T0);
            var e = parser.Parse(Encoding.UTF8.GetBytes(Screen(user, view, T0)), null, source, T0).Event!;
            var state = new UserState { UserId = user };
            _engines.Current.Apply(state, e, source, T0);
            _cache.Set(Shard, state);
        }
        var work = new BatchWork();

        _decide.FireTimers(Shard, ["bad", "good"], work, _time.GetUtcNow());

        var sent = Assert.Single(work.Interventions);
        Assert.Equal(("good", "welcome"), (sent.Command.UserId, sent.Command.RuleId));
        Assert.Equal(1, Measured("micromoments.stream.timers.errors"));
        _cache.TryGet(Shard, "bad", out var bad);
        Assert.Null(bad.Timers); // dropped: the next check does not throw again
        Assert.True(bad.ReindexTimers);
        Assert.Contains("bad", work.Dirty[Shard].Keys); // saved, so the timer index forgets the entry
        Assert.Empty(work.DeadLetters);

        var again = new BatchWork();
        _decide.FireTimers(Shard, ["bad", "good"], again, _time.GetUtcNow());
        Assert.Empty(again.Interventions);
        Assert.Equal(1, Measured("micromoments.stream.timers.errors"));
    }
}
