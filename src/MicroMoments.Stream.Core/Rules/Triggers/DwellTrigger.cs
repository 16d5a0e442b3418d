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
        Timers.Cancel(on.State, rule.Id);
        if (e.IsView && (View is null || string.Equals(View, e.ViewName, StringComparison.OrdinalIgnoreCase)))
        {
            Timers.Arm(on.State, rule.Id, rule.Id, on.Timestamp + (long)Duration.TotalMilliseconds, e.MessageId,
                new Dictionary<string, string> { ["view"] = e.ViewName ?? "" });
        }
    }

    /// <summary>Staying on a page is navigation.</summary>
    internal override string FiredIntent(RuleSet rules, int depth) => "go";
}
