using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.State;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: inactivity</c>: no event at all for <see cref="TriggerSpec.Duration"/>. No timer of its own: every inactivity
/// rule shares the user's <see cref="IdleTimer"/>.
/// </summary>
public sealed class InactivityTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor = new(TriggerKind.Inactivity, ["kind", "after"], firesOnTimer: true, Parse);

    /// <summary>The id of the idle timer in a user's state.</summary>
    public const string IdleTimerId = "~idle";

    private InactivityTrigger() : base(Descriptor)
    {
    }

    private static InactivityTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText) =>
        new() { Duration = r.Duration(t, "after", required: true) };

    /// <summary>Any event ends an idle stretch; only a reordered one (<see cref="OnEvent"/>) needs this rule to see it.</summary>
    internal override bool Concerns(string? key) => true;

    /// <summary>
    /// The shared <see cref="IdleTimer"/> restarts at an in-order event. An event stamped before the user's latest splits an
    /// idle stretch: a command that stretch already fired is withdrawn while ahead of its <c>deliverAfter</c>.
    /// </summary>
    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        if (on.Arrival != Arrival.InOrder)
        {
            WithdrawEndedStretch(rule, ref on);
        }
    }
}

/// <summary>
/// One rolling timer stands for every inactivity rule: they all count from the user's last event, so it is armed at
/// the shortest idle time and, when it fires, moves on to the next longer one.
/// </summary>
internal sealed class IdleTimer(IReadOnlyList<Rule> rules)
{
    private readonly List<IGrouping<TimeSpan, Rule>> _byIdleTime =
        rules.Where(r => r.Trigger.Kind == TriggerKind.Inactivity).GroupBy(r => r.Trigger.Duration).OrderBy(g => g.Key).ToList();

    /// <summary>After every event (but a delivery report): the idle stretch starts again.</summary>
    public void Restart(UserState state, string armedBy)
    {
        if (_byIdleTime.Count > 0)
        {
            Timers.Arm(state, InactivityTrigger.IdleTimerId, InactivityTrigger.IdleTimerId, state.LastEventAt + (long)_byIdleTime[0].Key.TotalMilliseconds,
                armedBy, null);
        }
    }

    /// <summary>The inactivity rules whose idle time has passed since the idle timer's due time, and the timer re-armed for the next.</summary>
    public void Fire(UserState state, PendingTimer timer, long nowMs, List<(long DueAt, string ArmedBy, List<(Rule Rule, string TimerId, Dictionary<string, string>? Details)> Rules)> groups)
    {
        foreach (var g in _byIdleTime)
        {
            var due = state.LastEventAt + (long)g.Key.TotalMilliseconds;
            if (due < timer.DueAt)
            {
                continue; // fired earlier in this idle stretch
            }
            if (due > nowMs)
            {
                Timers.Arm(state, InactivityTrigger.IdleTimerId, InactivityTrigger.IdleTimerId, due, timer.ArmedBy, null);
                return;
            }
            // Same trigger key as one timer per rule would have had: ids stay stable.
            groups.Add((due, timer.ArmedBy, g.Select(r => (r, r.Id, (Dictionary<string, string>?)null)).ToList()));
        }
    }
}
