using System.Diagnostics.Metrics;
using System.Text;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Issue 11: a rule that throws while one user's timer fires affects only that user; the worker's loop goes on.</summary>
public sealed class TimerIsolationTests
{
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
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        long timerErrors = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Scope == meters && i.Name == "micromoments.stream.timers.errors")
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, n, _, _) => Interlocked.Add(ref timerErrors, n));
        listener.Start();
        var time = new FakeTimeProvider(T0.AddMinutes(5));
        var engines = new RuleEngineProvider(Options.Create(new RulesOptions()), Options.Create(new PipelineOptions()));
        engines.Replace(Rules());
        var cache = new UserStateCache(1000);
        var pipeline = new StreamPipeline(engines, new ClickEventParser(new ParserLimits()), store: null!, cache, time,
            new PipelineTelemetry(meters, engines), NullLogger<StreamPipeline>.Instance);
        const string shard = "clickstream:0";
        var parser = new ClickEventParser(new ParserLimits());
        var offset = 0;
        foreach (var (user, view) in new[] { ("bad", "Bomb"), ("good", "Welcome") })
        {
            var source = new RecordSource("clickstream", 0, offset++, T0);
            var e = parser.Parse(Encoding.UTF8.GetBytes(Screen(user, view, T0)), null, source, T0).Event!;
            var state = new UserState { UserId = user };
            engines.Current.Apply(state, e, source, T0);
            cache.Set(shard, state);
        }
        var work = new BatchWork();

        pipeline.FireTimers(shard, ["bad", "good"], work);

        var sent = Assert.Single(work.Interventions);
        Assert.Equal(("good", "welcome"), (sent.Command.UserId, sent.Command.RuleId));
        Assert.Equal(1, Interlocked.Read(ref timerErrors));
        cache.TryGet(shard, "bad", out var bad);
        Assert.Null(bad.Timers); // dropped: the next check does not throw again
        Assert.True(bad.ReindexTimers);
        Assert.Contains("bad", work.Dirty[shard].Keys); // saved, so the timer index forgets the entry
        Assert.Empty(work.DeadLetters);

        var again = new BatchWork();
        pipeline.FireTimers(shard, ["bad", "good"], again);
        Assert.Empty(again.Interventions);
        Assert.Equal(1, Interlocked.Read(ref timerErrors));
    }
}
