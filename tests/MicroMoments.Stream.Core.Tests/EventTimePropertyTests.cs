using System.Text.Json;
using CsCheck;
using MicroMoments.Stream.Core.Rules;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// For random journeys of one user, the same events shuffled with a disorder of at most <c>policies.allowedLateness</c>
/// give the commands of the sorted run: the same rule and intervention ids, once the commands a reordered event withdrew
/// (reason <c>late_event</c>) are taken out.
/// </summary>
/// <remarks>
/// One rule per trigger kind, each with a delay longer than the lateness, so a command decided before a reordered event
/// arrived is still ahead of its <c>deliverAfter</c> and can be withdrawn. Timers fire at their due time, so a cancelling
/// event that arrives after its timer fired can only withdraw the command: the timer rules here wait longer than a journey
/// lasts and fire in the drain, which checks what they hold at the end (armed, satisfied, named by which event).
/// </remarks>
public sealed class EventTimePropertyTests
{
    private const int Iterations = 400;
    private static readonly TimeSpan Lateness = TimeSpan.FromMinutes(5);

    private static readonly RuleSet Rules = RuleSetLoader.Load("""
        version: t
        policies: { allowedLateness: 5m }
        rules:
          - { id: shared, trigger: { kind: event, event: Content Shared }, action: &a { moment: m, channel: in_app, priority: 50, delay: 1h, message: { title: t, body: b } } }
          - { id: failing, trigger: { kind: count, event: Task Failed, times: 2, within: 5m, per: task }, action: *a }
          - { id: failing-3, trigger: { kind: count, event: Task Failed, times: 3, within: 20m }, action: *a }
          - { id: cart, trigger: { kind: absence, event: Product Added, missing: Order Completed, within: 2d, per: cartId }, action: *a }
          - { id: dwell, trigger: { kind: dwell, view: Welcome, after: 2d }, action: *a }
          - { id: idle, trigger: { kind: inactivity, after: 2d }, action: *a }
          - { id: streak, trigger: { kind: streak, days: 2 }, action: *a }
          - { id: uses, trigger: { kind: threshold, event: Feature Used, metric: featureUses, atLeast: 3 }, action: *a }
        """);

    private static readonly string[] Names = ["Content Shared", "Task Failed", "Product Added", "Order Completed", "Feature Used", "Welcome", "Other"];

    /// <summary>One event: its name, a property value (task, cart or feature), and the gap after the previous one (seconds).</summary>
    private static readonly Gen<(string Name, int Value, int Gap)> EventGen =
        Gen.Select(Gen.OneOf(Names.Select(Gen.Const).ToArray()), Gen.Int[0, 1], Gen.OneOf(Gen.Int[1, 400], Gen.Int[1, 1_800], Gen.Int[3_600, 36_000]));

    [Fact]
    public void RandomJourneys_DisorderWithinLateness_SameCommandsAsSortedRun()
    {
        Gen.Select(EventGen.Array[2, 30], Gen.Int[0, (int)Lateness.TotalMilliseconds - 1].Array[30])
            .Sample((events, jitter) =>
            {
                var lines = Lines(events);
                // Each event arrives at its time plus up to the lateness: any two swap only within it.
                var arrival = lines.Select((l, i) => (l.Line, Arrives: l.At.AddMilliseconds(jitter[i]), i))
                    .OrderBy(x => x.Arrives).ThenBy(x => x.i).Select(x => x.Line).ToList();
                var sorted = EventTimeTests.Run(Rules, lines.Select(l => l.Line));
                var shuffled = EventTimeTests.Run(Rules, arrival);
                Assert.Equal(sorted.Effective, shuffled.Effective);
            }, iter: Iterations, threads: 1, print: x => string.Join("\n", Lines(x.Item1).Select(l => l.Line)) + "\njitter: " + string.Join(",", x.Item2));
    }

    [Fact]
    public void RandomJourneys_ExerciseEveryRule()
    {
        // The property is only as strong as the journeys: across a fixed sample, every rule fires.
        var fired = new HashSet<string>(StringComparer.Ordinal);
        EventGen.Array[20, 30].Sample(events =>
        {
            fired.UnionWith(EventTimeTests.Run(Rules, Lines(events).Select(l => l.Line)).Effective.Select(c => c.RuleId));
        }, iter: 200, threads: 1, seed: "0N0XIzNsQ0O2");
        Assert.Equal(Rules.Rules.Select(r => r.Id).Order(StringComparer.Ordinal), fired.Order(StringComparer.Ordinal));
    }

    private static List<(DateTimeOffset At, string Line)> Lines((string Name, int Value, int Gap)[] events)
    {
        var at = Scenario.T0 + TimeSpan.FromHours(13); // 23:00 UTC: journeys cross midnight
        var lines = new List<(DateTimeOffset, string)>();
        for (var i = 0; i < events.Length; i++)
        {
            var (name, value, gap) = events[i];
            at += TimeSpan.FromSeconds(gap) + TimeSpan.FromMilliseconds(i); // distinct times
            var id = $"e{i}";
            var line = name == "Welcome"
                ? EventTimeTests.Screen(id, name, (at - Scenario.T0).TotalMinutes)
                : JsonSerializer.Serialize(new
                {
                    type = "track", @event = name, userId = "u1", messageId = id, timestamp = at.ToString("O"),
                    properties = new Dictionary<string, string> { ["task"] = $"t{value}", ["cartId"] = $"c{value}", ["feature"] = $"f{value}" },
                    context = new { timezone = "UTC" },
                });
            lines.Add((at, line));
        }
        return lines;
    }
}
