using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: count</c>: <see cref="Times"/> matching events within a sliding window (<see cref="TriggerSpec.Duration"/>),
/// optionally one window <see cref="Per"/> value of an event property. The windows live in <see cref="UserState.Windows"/>.
/// </summary>
public sealed class CountTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor =
        new(TriggerKind.Count, ["kind", "event", "times", "within", "per", "where"], firesOnTimer: false, Parse);

    private CountTrigger() : base(Descriptor)
    {
    }

    public int Times { get; private init; }

    /// <summary>Keep a separate window per value of this event property.</summary>
    public string? Per { get; private init; }

    private static CountTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var evt = ReadEvent(r, t);
        var window = r.Duration(t, "within", required: true);
        var times = r.Int(t, "times") ?? 1;
        if (evt is null)
        {
            r.Error(t, $"rule '{id}': a {kindText} trigger needs an 'event'");
        }
        else if (times < 2)
        {
            r.Error(t, $"rule '{id}': a count trigger needs 'times' of 2 or more");
        }
        return new CountTrigger { Event = evt, Duration = window, Times = times, Per = r.String(t, "per"), Where = r.StringMap(t, "where") };
    }

    internal override bool Concerns(string? key) => key is not null && Event == key;

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        if (!Matches(on.Event) || Hit(on.State, rule, on.Event, on.Timestamp) is not { } hits)
        {
            return;
        }
        var details = TriggerDetails.Of(on.Event);
        details["count"] = hits.Count;
        details["window"] = Durations.ToIso(Duration);
        on.Fire(new Candidate(rule, "count", hits.Select(h => h.EventId).ToArray(), details, on.Event.MessageId));
    }

    /// <summary>Adds the event to its window; when the window reaches <see cref="Times"/>, returns the hits and starts over.</summary>
    private List<WindowHit>? Hit(UserState state, Rule rule, ClickEvent e, long ts)
    {
        var key = Per is null ? rule.Id : $"{rule.Id}|{e.Property(Per)}";
        state.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
        if (!state.Windows.TryGetValue(key, out var hits))
        {
            state.Windows[key] = hits = [];
        }
        RemoveUpTo(hits, ts - (long)Duration.TotalMilliseconds);
        hits.Add(new WindowHit(ts, e.MessageId));
        if (hits.Count < Times)
        {
            return null;
        }
        state.Windows.Remove(key);
        return hits;
    }

    /// <summary>After every event: drops the hits that left their rule's window, and the windows left empty.</summary>
    internal static void PruneWindows(UserState state, RuleSet rules, long nowMs)
    {
        if (state.Windows is not { Count: > 0 } windows)
        {
            state.Windows = null;
            return;
        }
        List<string>? empty = null;
        foreach (var (key, hits) in windows)
        {
            var bar = key.IndexOf('|', StringComparison.Ordinal);
            var window = rules.Find(bar < 0 ? key.AsSpan() : key.AsSpan(0, bar))?.Trigger.Duration ?? TimeSpan.Zero;
            RemoveUpTo(hits, nowMs - (long)window.TotalMilliseconds);
            if (hits.Count == 0)
            {
                (empty ??= []).Add(key);
            }
        }
        foreach (var key in empty ?? [])
        {
            windows.Remove(key);
        }
        if (windows.Count == 0)
        {
            state.Windows = null;
        }
    }

    /// <summary>Drops the hits at or before <paramref name="from"/>, keeping the others in order.</summary>
    private static void RemoveUpTo(List<WindowHit> hits, long from)
    {
        var kept = 0;
        for (var i = 0; i < hits.Count; i++)
        {
            if (hits[i].At > from)
            {
                hits[kept++] = hits[i];
            }
        }
        hits.RemoveRange(kept, hits.Count - kept);
    }
}
