using System.Text.Json;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>
/// Section 18, waiting candidates: blocked by a cap, progressive disclosure or a collision, not yet produced
/// (<see cref="UserState.Waiting"/>). Written as their JSON: only blocked users hold any, at most 8, and most of an entry
/// is its rendered message; a binary form can come as a section of a new id without a setting.
/// </summary>
internal sealed class WaitingSection : IStateSection
{
    public int Id => 18;

    public bool Keep => true;

    public bool IsEmpty(UserState s) => s.Waiting is null;

    public void Write(StateWriter w, UserState s) => w.String(JsonSerializer.Serialize(s.Waiting!, UserStateJsonContext.Default.ListWaitingDelivery));

    public void Read(ref StateReader r, UserState s) =>
        s.Waiting = JsonSerializer.Deserialize(r.String(), UserStateJsonContext.Default.ListWaitingDelivery)
            ?? throw new InvalidDataException("the waiting candidates are JSON null");
}
