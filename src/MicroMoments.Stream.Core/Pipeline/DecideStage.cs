using System.Diagnostics;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Stage 4, decide: runs the rules over the loaded users, events in order (or their due timers), and records in the
/// batch's work what changed and what to send. Pure: the clock is a parameter and the state is the cache's.
/// </summary>
/// <remarks><c>engine</c> gives the engine of the current rules: read once per batch, so a reload takes effect between batches.</remarks>
public sealed class DecideStage(Func<RuleEngine> engine, UserStateCache cache, IPipelineEvents events)
{
    /// <summary>
    /// Applies the parsed events in order, then empties the list (its events are no longer needed, and should not
    /// outlive the batch). A record that makes a rule throw is dead-lettered; the rest go on.
    /// </summary>
    public void Apply(List<ParsedRecord> parsed, BatchWork work, DateTimeOffset now) => Apply(parsed, work, now, engine());

    /// <summary>The engine of the current rules: a batch reads it once and decides and paces with it (<see cref="BatchPipeline"/>).</summary>
    public RuleEngine Engine => engine();

    /// <inheritdoc cref="Apply(List{ParsedRecord}, BatchWork, DateTimeOffset)"/>
    public void Apply(List<ParsedRecord> parsed, BatchWork work, DateTimeOffset now, RuleEngine rules)
    {
        // Outcomes are counted per run of one topic, not looked up per event.
        string? topic = null;
        int applied = 0, duplicates = 0;
        var scratch = new Evaluation(); // one for the batch: its content is copied into the batch's work after each event
        void Flush()
        {
            if (topic is not null)
            {
                work.Count(topic, "applied", applied);
                work.Count(topic, "duplicate", duplicates);
            }
            (applied, duplicates) = (0, 0);
        }
        foreach (var p in parsed)
        {
            if (!ReferenceEquals(topic, p.Source.Topic))
            {
                Flush();
                topic = p.Source.Topic;
            }
            cache.TryGet(p.Shard, p.Event.UserId, out var state);
            try
            {
                scratch.Reset();
                var evaluation = rules.Apply(state, p.Event, p.Source, now, scratch);
                if (!evaluation.Applied)
                {
                    duplicates++;
                    continue;
                }
                applied++;
                if (p.Event.PreviousId is { } previous && work.Aliases.Take(previous, out var aliased) && !ReferenceEquals(aliased.State, state))
                {
                    var alias = rules.MergeAlias(state, aliased.State, now);
                    if (alias.FollowUps is { } followUps)
                    {
                        work.Add(p.Shard, followUps, p.Parent);
                    }
                    if (alias.Tombstone is null)
                    {
                        events.AliasNotMerged(previous, p.Event.UserId, alias.Outcome, p.Source);
                    }
                    else if (aliased.Owned)
                    {
                        cache.Replace(aliased.Shard, alias.Tombstone);
                        work.MarkDirty(aliased.Shard, alias.Tombstone);
                    }
                    events.AliasMerged(alias.Outcome);
                }
                else if (p.Event.PreviousId is { } unknown && work.Aliases.IsNotFound(unknown))
                {
                    events.AliasNotMerged(unknown, p.Event.UserId, UserMerge.NotFound, p.Source);
                    events.AliasMerged(UserMerge.NotFound);
                }
                work.MarkDirty(p.Shard, state);
                work.Add(p.Shard, evaluation, p.Parent);
                events.Decided(now - p.Event.Timestamp);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                events.RuleFailed(ex, p.Source);
                events.DeadLettered(work.Reject(p.Shard, p.Record, RejectReasons.RuleError, $"{ex.GetType().Name}: {ex.Message}"));
                // The record's evaluation is dropped with it, so nothing it put to await a minute may be settled and sent.
                DeliverySchedule.TakeAwaiting(state, w => !work.PutToAwait(w));
                work.MarkDirty(p.Shard, state); // the watermark moved: the record is done, in the dead-letter topic
            }
        }
        Flush();
        parsed.Clear();
    }

    /// <summary>Fires due timers of the given users of one shard (already cached).</summary>
    public void FireTimers(string shard, IEnumerable<string> userIds, BatchWork work, DateTimeOffset now) =>
        FireTimers(shard, userIds, work, now, engine());

    /// <inheritdoc cref="FireTimers(string, IEnumerable{string}, BatchWork, DateTimeOffset)"/>
    public void FireTimers(string shard, IEnumerable<string> userIds, BatchWork work, DateTimeOffset now, RuleEngine rules)
    {
        foreach (var userId in userIds)
        {
            if (!cache.TryGet(shard, userId, out var state))
            {
                continue;
            }
            var due = state.NextDueAt;
            Evaluation evaluation;
            try
            {
                evaluation = rules.FireDue(state, now);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One user's timer must not stop the loop, nor throw again at every check: its due timers are dropped.
                events.TimerFailed(ex, shard, userId);
                RuleEngine.DropDue(state, now);
                state.ReindexTimers = true;
                work.MarkDirty(shard, state);
                continue;
            }
            if (evaluation.Failure is { } failure)
            {
                // A rule threw after part of the step was decided: that part stands and goes out; the rest was dropped.
                events.TimerFailed(failure, shard, userId);
            }
            else if (due is { } d && d <= now.ToUnixTimeMilliseconds())
            {
                events.TimerFired(now - DateTimeOffset.FromUnixTimeMilliseconds(d));
            }
            // Always saved: even with nothing due, the user's entry in the timer index is re-scored exactly.
            state.ReindexTimers = true;
            work.MarkDirty(shard, state);
            work.Add(shard, evaluation, Activity.Current?.Context ?? default);
        }
    }
}
