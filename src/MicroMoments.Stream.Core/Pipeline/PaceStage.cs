using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Pacing;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Stage 4b, pace: after decide, Reserve and Settle (<see cref="MinuteAsks"/>). The batch's entries awaiting a minute on
/// rate-limited channels (<c>policies.rateLimit</c>) get one from the ledger every instance shares, in one call per batch,
/// and none when nothing awaits; each grant becomes a command produced now, a wait for a later minute, or an expiry, added to
/// the batch after what decide put there. A batch redone after a crash counts its entries again: that only defers later
/// commands more, never lets a minute exceed its limit (docs/rules.md, "Pacing").
/// </summary>
/// <remarks><c>engine</c> gives the engine of the current rules, read once per batch.</remarks>
public sealed class PaceStage(Func<RuleEngine> engine, IRateLedger ledger, IPipelineEvents? events = null)
{
    /// <summary>Paces the batch; the ledger call runs through <paramref name="gate"/>, so an outage pauses and retries it.</summary>
    public Task PaceAsync(BatchWork work, IStoreOutageGate gate, DateTimeOffset now, CancellationToken ct) =>
        PaceAsync(work, gate, now, engine(), ct);

    /// <summary>Paces the batch with the engine it was decided with (<see cref="BatchPipeline"/> reads the rules once).</summary>
    public async Task PaceAsync(BatchWork work, IStoreOutageGate gate, DateTimeOffset now, RuleEngine current, CancellationToken ct)
    {
        var asks = MinuteAsks.Collect(current.Rules, work);
        if (asks.Count == 0)
        {
            return;
        }
        long[] granted = [];
        if (asks.Requests.Count > 0)
        {
            await gate.RunAsync(async () => granted = await ledger.ReserveAsync(asks.Requests, now, ct), ct);
        }
        asks.Settle(current, work, granted, now, events);
    }
}
