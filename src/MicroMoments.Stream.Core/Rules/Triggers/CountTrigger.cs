using System.Runtime.InteropServices;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Core.Rules.Where;
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
        if (window > TimeSpan.Zero && window < TimeSpan.FromMilliseconds(1))
        {
            // Event times are whole milliseconds: a shorter window could hold only hits of one instant.
            r.Error(t, $"rule '{id}': a count trigger's 'within' must be at least 1ms");
        }
        return new CountTrigger { Event = evt, Duration = window, Times = times, Per = r.String(t, "per"), Where = WhereReader.Read(r, t, id) };
    }

    internal override bool Concerns(string? key) => key is not null && Event == key;

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        if (!Matches(on.Event, on.State) || on.Arrival == Arrival.Late)
        {
            return; // a late event counts towards no trigger
        }
        if (on.EventTime)
        {
            HitInEventTime(rule, ref on);
            return;
        }
        if (Hit(on.State, rule, on.Event, on.Timestamp) is not { } hits)
        {
            return;
        }
        on.Fire(Candidate(rule, on.Event, hits, on.Event.MessageId));
    }

    private Candidate Candidate(Rule rule, ClickEvent e, List<WindowHit> hits, string key)
    {
        var details = TriggerDetails.Of(e);
        details["count"] = hits.Count;
        details["window"] = Durations.ToIso(Duration);
        return new Candidate(rule, "count", hits.Select(h => h.EventId).ToArray(), details, key);
    }

    private string WindowKey(Rule rule, ClickEvent e) => Per is null ? rule.Id : $"{rule.Id}|{e.Property(Per)}";

    /// <summary>Adds the event to its window; when the window reaches <see cref="Times"/>, returns the hits and starts over.</summary>
    private List<WindowHit>? Hit(UserState state, Rule rule, ClickEvent e, long ts)
    {
        var key = WindowKey(rule, e);
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

    /// <summary>
    /// In event time the window's hits stay sorted by timestamp and are counted, not dropped, against the hit's own time, so
    /// a later-stamped hit leaves an earlier one for a reordered hit to count with. A fired group is kept
    /// (<see cref="EventTimeState.FiredGroups"/>) for the lateness, named by its latest hit. A hit stamped before a kept
    /// group's latest replays the window in timestamp order against those groups: a group that now forms is proposed, a
    /// group that no longer forms is retracted (its command withdrawn while ahead of its <c>deliverAfter</c>). So both orders
    /// give the same groups and the same trigger keys.
    /// </summary>
    private void HitInEventTime(Rule rule, ref TriggerEvent on)
    {
        var state = on.State;
        var e = on.Event;
        var ts = on.Timestamp;
        var key = WindowKey(rule, e);
        var windowMs = (long)Duration.TotalMilliseconds;
        state.Windows ??= new Dictionary<string, List<WindowHit>>(StringComparer.Ordinal);
        if (!state.Windows.TryGetValue(key, out var hits))
        {
            state.Windows[key] = hits = [];
        }
        List<FiredGroup>? undone = null;
        foreach (var g in CollectionsMarshal.AsSpan(state.EventTime?.FiredGroups))
        {
            if (g.Window == key && g.Last.At > ts)
            {
                (undone ??= []).Add(g);
            }
        }
        var hit = new WindowHit(ts, e.MessageId);
        if (undone is null && (hits.Count == 0 || hits[^1].At <= ts))
        {
            hits.Add(hit);
            var from = 0;
            while (from < hits.Count - 1 && hits[from].At <= ts - windowMs)
            {
                from++; // the new hit itself is inside the window, so this stops
            }
            if (hits.Count - from < Times)
            {
                return;
            }
            var group = hits.GetRange(from, hits.Count - from);
            hits.RemoveRange(from, hits.Count - from);
            Fired(rule, ref on, key, group, hits);
            return;
        }

        // Replay: the open hits, the hits of the groups this hit may change, and the hit, in timestamp order.
        undone ??= [];
        var pool = new List<WindowHit>(hits);
        foreach (var g in undone)
        {
            state.EventTime!.FiredGroups!.Remove(g);
            pool.AddRange(g.Hits);
        }
        pool.Add(hit);
        var sorted = pool.OrderBy(h => h.At).ToList(); // stable: among equal times, the arrival order
        var open = new List<WindowHit>();
        var formed = new List<List<WindowHit>>();
        hits.Clear();
        foreach (var h in sorted)
        {
            for (var i = 0; i < open.Count; i++)
            {
                if (open[i].At <= h.At - windowMs)
                {
                    hits.Add(open[i]);
                    open.RemoveAt(i--);
                }
            }
            open.Add(h);
            if (open.Count >= Times)
            {
                formed.Add(open);
                open = [];
            }
        }
        hits.AddRange(open);
        hits.Sort((a, b) => a.At.CompareTo(b.At));
        foreach (var group in formed)
        {
            if (undone.Exists(g => g.Last.EventId == group[^1].EventId))
            {
                EventTimeTail.Fired(state, new FiredGroup(key, group)); // fired already, under the same key
            }
            else
            {
                Fired(rule, ref on, key, group, hits);
            }
        }
        foreach (var g in undone)
        {
            if (!formed.Exists(f => f[^1].EventId == g.Last.EventId))
            {
                on.Retract(rule.Id, InterventionIds.Create(state.UserId, rule.Id, g.Last.EventId));
            }
        }
        if (hits.Count == 0)
        {
            state.Windows.Remove(key);
        }
    }

    private void Fired(Rule rule, ref TriggerEvent on, string key, List<WindowHit> group, List<WindowHit> open)
    {
        EventTimeTail.Fired(on.State, new FiredGroup(key, group));
        if (open.Count == 0)
        {
            on.State.Windows!.Remove(key);
        }
        on.Fire(Candidate(rule, on.Event, group, group[^1].EventId));
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
        if (empty is not null)
        {
            foreach (var key in empty)
            {
                windows.Remove(key);
            }
        }
        if (windows.Count == 0)
        {
            state.Windows = null;
        }
    }

    /// <summary>Drops the hits at or before <paramref name="from"/>, keeping the others in order.</summary>
    private static void RemoveUpTo(List<WindowHit> hits, long from) => InPlace.RemoveWhere(hits, from, static (h, from) => h.At <= from);
}
