using MicroMoments.Stream.Core.Pacing;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Core.Pipeline;

/// <summary>
/// Stage 4b, pace: between decide and persist, the batch's commands on rate-limited channels (<c>policies.rateLimit</c>)
/// get their delivery minute from the ledger every instance shares, in one call per batch, and none when no limit is
/// set. A batch redone after a crash counts its commands again: that only defers later commands more, never lets a
/// minute exceed its limit (docs/rules.md, "Pacing").
/// </summary>
/// <remarks><c>engine</c> gives the engine of the current rules, read once per batch.</remarks>
public sealed class PaceStage(Func<RuleEngine> engine, IRateLedger ledger)
{
    /// <summary>Paces the batch; the ledger call runs through <paramref name="gate"/>, so an outage pauses and retries it.</summary>
    public async Task PaceAsync(BatchWork work, IStoreOutageGate gate, DateTimeOffset now, CancellationToken ct)
    {
        var current = engine();
        if (RatePacing.Requests(current.Rules, work) is not { } requests)
        {
            RatePacing.SettleLeftovers(work);
            return;
        }
        var asked = requests.ConvertAll(r => r.Request);
        long[] granted = [];
        await gate.RunAsync(async () => granted = await ledger.ReserveAsync(asked, now, ct), ct);
        RatePacing.Apply(current.Rules, work, requests, granted);
    }
}
