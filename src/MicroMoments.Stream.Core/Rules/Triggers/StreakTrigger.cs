using MicroMoments.Stream.Core.Rules.Where;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary><c>kind: streak</c>: the user's streak of active days reaches <see cref="Days"/>, checked on <see cref="TriggerSpec.Event"/> or on every event.</summary>
public sealed class StreakTrigger : MetricTrigger
{
    internal static readonly TriggerKindInfo Descriptor = new(TriggerKind.Streak, ["kind", "event", "where", "days"], firesOnTimer: false, Parse);

    private StreakTrigger() : base(Descriptor)
    {
    }

    /// <summary>The number of consecutive active days.</summary>
    public int Days { get; private init; }

    private static StreakTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var evt = ReadEvent(r, t);
        if ((r.Int(t, "days") ?? 0) < 2)
        {
            r.Error(t, $"rule '{id}': a streak trigger needs 'days' of 2 or more");
        }
        return new StreakTrigger { Event = evt, Where = WhereReader.Read(r, t, id), Days = r.Int(t, "days") ?? 0, Metric = "streakDays" };
    }

    /// <summary>
    /// Fires on the event that makes the streak <see cref="Days"/> long or longer: one day at a time that is exactly
    /// <see cref="Days"/>, but an earlier day's event that arrives late can fill a gap and join two runs.
    /// </summary>
    private protected override bool Holds(double? value) => value >= Days;

    /// <summary>The local day the run reached <see cref="Days"/>: the same whichever of that day's events arrived first.</summary>
    private protected override string? CanonicalKey(ref TriggerEvent on) =>
        "streak@" + (on.State.LastActiveDay - on.State.StreakDays + Days).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private protected override string CandidateKind => "streak";
}
