namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// A batch's decide path: load → decide (its records in order, then its due timers) → pace. The worker, its warm-up and
/// <c>simulate</c> all run this one; only the ports differ: the state reader behind <see cref="LoadStage"/>, the rate ledger
/// behind <see cref="PaceStage"/>, the shard ownership, the store gate and the clock (docs/pipeline.md).
/// </summary>
public sealed class BatchPipeline(LoadStage load, DecideStage decide, PaceStage pace, IShardOwnership ownership, TimeProvider time)
{
    /// <summary>
    /// Decides <paramref name="records"/> (emptied, as <see cref="DecideStage.Apply(List{ParsedRecord}, BatchWork, DateTimeOffset)"/> does), then fires the due timers of
    /// the users in <paramref name="timers"/>, into <paramref name="work"/>. Every store call runs through
    /// <paramref name="gate"/>. The clock is read once the users are loaded: a batch held up by an outage is decided at the
    /// time it is decided.
    /// </summary>
    public async Task RunAsync(List<ParsedRecord> records, IReadOnlyList<(string Shard, string[] Users)> timers, BatchWork work,
        IStoreOutageGate gate, CancellationToken ct)
    {
        await gate.RunAsync(async () =>
        {
            await ownership.AcquireAsync(records.Select(p => p.Shard).Concat(timers.Select(t => t.Shard)), ct);
            await load.LoadAsync(records.Select(p => (p.Shard, p.Event.UserId)).Concat(timers.SelectMany(t => t.Users.Select(u => (t.Shard, u)))), work, ct);
            await ownership.AcquireAsync(await load.LoadAliasedAsync(records, ownership.Owns, work, ct), ct);
        }, ct);
        var now = time.GetUtcNow();
        // The rules are read once: a reload takes effect between batches, never between a batch's decide and its pace.
        var rules = decide.Engine;
        decide.Apply(records, work, now, rules);
        foreach (var (shard, users) in timers)
        {
            decide.FireTimers(shard, users, work, now, rules);
        }
        await pace.PaceAsync(work, gate, now, rules, ct);
    }
}
