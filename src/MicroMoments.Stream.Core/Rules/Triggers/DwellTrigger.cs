using MicroMoments.Stream.Core.Decisions;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: dwell</c>: a view (of <see cref="View"/>, or any) followed by no event for <see cref="TriggerSpec.Duration"/>.
/// A timer with the rule's id: a matching view arms it, any event cancels it.
/// </summary>
public sealed class DwellTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor = new(TriggerKind.Dwell, ["kind", "view", "after"], firesOnTimer: true, Parse);

    private DwellTrigger() : base(Descriptor)
    {
    }

    /// <summary>The page or screen name (null: any view).</summary>
    public string? View { get; private init; }

    private static DwellTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText) =>
        new() { Duration = r.Duration(t, "after", required: true), View = r.String(t, "view") };

    /// <summary>Any event ends a dwell.</summary>
    internal override bool Concerns(string? key) => true;

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        var e = on.Event;
        var view = e.IsView && (View is null || string.Equals(View, e.ViewName, StringComparison.OrdinalIgnoreCase));
        if (on.Arrival != Arrival.InOrder)
        {
            Reordered(rule, ref on);
            return;
        }
        Timers.Cancel(on.State, rule.Id);
        if (view)
        {
            Timers.Arm(on.State, rule.Id, rule.Id, on.Timestamp + DurationMs, e.MessageId,
                new Dictionary<string, string> { ["view"] = e.ViewName ?? "" });
        }
    }

    private long DurationMs => (long)Duration.TotalMilliseconds;

    /// <summary>
    /// An event stamped before the user's latest: it ends only a dwell whose view was stamped before it, and a command such a
    /// dwell already sent is withdrawn while its <c>deliverAfter</c> is ahead (<see cref="TriggerSpec.WithdrawEndedStretch"/>). A reordered view arms nothing: the latest event
    /// is stamped after it, so it either ended the dwell or came after the dwell was due, and which one only the events in
    /// between could tell (none is kept): no nudge rather than a wrong one.
    /// </summary>
    private void Reordered(Rule rule, ref TriggerEvent on)
    {
        var ts = on.Timestamp;
        if (on.State.Timers?.Find(t => t.Id == rule.Id) is { } timer && timer.DueAt - DurationMs < ts)
        {
            Timers.Cancel(on.State, rule.Id);
        }
        WithdrawEndedStretch(rule, ref on);
    }

    /// <summary>Staying on a page is navigation.</summary>
    internal override string FiredIntent(RuleSet rules, int depth) => "go";
}
