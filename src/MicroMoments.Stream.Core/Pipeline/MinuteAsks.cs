using System.Diagnostics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Reserve and Settle (docs/rules.md, "Pacing"): the batch's schedule entries awaiting a delivery minute, in batch order, with
/// the ledger requests of those whose channel has a limit; then each grant turned into a placement, added to the batch after
/// what decide put there. Pure: the ledger's answers come in as a parameter.
/// </summary>
public sealed class MinuteAsks
{
    private readonly List<(string Shard, UserState State, WaitingDelivery Entry, ActivityContext Parent, int Request)> _entries = [];
    private readonly List<MinuteRequest> _requests = [];

    private MinuteAsks()
    {
    }

    /// <summary>The requests for the ledger, in order: one call answers them all. Empty when no entry's channel has a limit.</summary>
    public IReadOnlyList<MinuteRequest> Requests => _requests;

    /// <summary>The entries to settle.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Reserve: the entries awaiting a minute still in the schedules of the batch's users (a <c>cancelOn</c> event or a pause
    /// later in the batch took the others out, so they never ask), in the order the batch's steps put them there.
    /// </summary>
    public static MinuteAsks Collect(RuleSet rules, BatchWork work)
    {
        var asks = new MinuteAsks();
        List<(string Shard, UserState State, WaitingDelivery Entry)>? found = null;
        foreach (var (shard, users) in work.Dirty)
        {
            foreach (var state in users.Values)
            {
                if (state.Waiting is not { } waiting)
                {
                    continue; // most users: no list is made for them, in every batch
                }
                foreach (var w in waiting)
                {
                    if (w.Awaiting is not null)
                    {
                        (found ??= []).Add((shard, state, w)); // where it is now: an alias may have moved it to another user
                    }
                }
            }
        }
        if (found is null)
        {
            return asks;
        }
        var owner = new Dictionary<WaitingDelivery, int>(found.Count, ReferenceEqualityComparer.Instance);
        for (var i = 0; i < found.Count; i++)
        {
            owner[found[i].Entry] = i;
        }
        foreach (var (_, entry, parent) in work.Awaiting)
        {
            if (owner.Remove(entry, out var i))
            {
                asks.Add(rules, found[i], parent);
            }
        }
        // Put to await by no step of this batch (a step whose evaluation was dropped takes its own out): settled all the same.
        foreach (var f in found)
        {
            if (owner.ContainsKey(f.Entry))
            {
                asks.Add(rules, f, default);
            }
        }
        return asks;
    }

    private void Add(RuleSet rules, (string Shard, UserState State, WaitingDelivery Entry) f, ActivityContext parent)
    {
        var request = -1;
        if (rules.RateLimitOf(f.Entry.Channel) is { } limit)
        {
            request = _requests.Count;
            _requests.Add(RateLimitPolicy.Request(limit, f.Entry.Awaiting!.Command));
        }
        _entries.Add((f.Shard, f.State, f.Entry, parent, request));
    }

    /// <summary>
    /// Settle: each entry placed by its grant (<paramref name="granted"/>, one per request; an entry whose channel has no limit
    /// now keeps its own minute), through <see cref="RuleEngine.Settle"/>. What it produces and decides is added to the batch;
    /// nothing already there changes.
    /// </summary>
    public void Settle(RuleEngine engine, BatchWork work, IReadOnlyList<long> granted, DateTimeOffset now, IPipelineEvents? events = null)
    {
        foreach (var (shard, state, entry, parent, request) in _entries)
        {
            var minute = request >= 0 ? granted[request] : RateLimitPolicy.MinuteOf(entry.Awaiting!.Command.DeliverAfter.ToUnixTimeMilliseconds());
            try
            {
                work.Add(shard, engine.Settle(state, entry, minute, now), parent);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One user's entry must not stop the batch: it is dropped, reported, and the rest are settled.
                DeliverySchedule.Remove(state, entry);
                entry.Awaiting = null;
                state.ReindexTimers = true;
                events?.SettleFailed(ex, shard, state.UserId);
            }
        }
    }
}
