using System.Runtime.InteropServices;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 18, waiting candidates: blocked by a cap, progressive disclosure or a collision, not yet produced
/// (<see cref="UserState.Waiting"/>). Written as their JSON: only blocked users hold any, at most 8, and most of an entry
/// is its rendered message; a binary form can come as a section of a new id without a setting.
/// </summary>
internal sealed class WaitingSection : StateSection
{
    public override int Id => 18;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.Waiting is null;

    public override void Write(StateWriter w, UserState s) => w.String(JsonSerializer.Serialize(s.Waiting!, UserStateJsonContext.Default.ListWaitingDelivery));

    public override void Read(ref StateReader r, UserState s) =>
        s.Waiting = JsonSerializer.Deserialize(r.String(), UserStateJsonContext.Default.ListWaitingDelivery)
            ?? throw new InvalidDataException("the waiting candidates are JSON null");

    public override long UpperBoundBytes(UserState s)
    {
        var n = 0L;
        foreach (var w in CollectionsMarshal.AsSpan(s.Waiting))
        {
            // Written as JSON: about 20 bytes of names and punctuation per field, and up to 6 bytes a character (\uXXXX).
            n += 400 + Json(w.Title) + Json(w.Body) + Json(w.ActionLabel) + Json(w.ActionUrl) + Json(w.Per) + Json(w.UserId) + Json(w.InterventionId)
                + Json(w.RuleId) + Json(w.Channel) + Json(w.Blocked) + Json(w.TriggerKind) + Json(w.Intent) + Json(w.Variant) + Json(w.Crossing);
            foreach (var id in w.EventIds)
            {
                n += 1 + Json(id);
            }
            if (w.Details is { } details)
            {
                foreach (var (k, v) in details)
                {
                    n += 6 + Json(k) + Json(v);
                }
            }
        }
        return n;

        static long Json(string? x) => x is null ? 0 : 6L * x.Length + 2;
    }

    /// <summary>
    /// The anonymous user's entries join, addressed as they were, except for a rule the identified user has one for;
    /// over <see cref="DeliverySchedule.MaxWaiting"/>, the first ones go.
    /// </summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        // Each entry awaiting its minute moves too: it is a command the rules produce, settled with the batch.
        foreach (var w in from.Waiting ?? [])
        {
            if (w.Awaiting is not null || DeliverySchedule.Of(into, w.RuleId) is null)
            {
                w.UserId ??= from.UserId;
                (into.Waiting ??= []).Add(w);
                into.ReindexTimers = true;
            }
        }
        while (into.Waiting is { } waiting && waiting.Count(w => w.Awaiting is null) > DeliverySchedule.MaxWaiting)
        {
            waiting.RemoveAt(waiting.FindIndex(w => w.Awaiting is null));
        }
    }
}
