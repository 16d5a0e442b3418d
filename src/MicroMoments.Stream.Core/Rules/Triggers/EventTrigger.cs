using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules.Where;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary><c>kind: event</c>: a single matching event fires the rule.</summary>
public sealed class EventTrigger : TriggerSpec
{
    internal static readonly TriggerKindInfo Descriptor = new(TriggerKind.Event, ["kind", "event", "where"], firesOnTimer: false, Parse);

    private EventTrigger() : base(Descriptor)
    {
    }

    private static EventTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var evt = ReadEvent(r, t);
        if (evt is null)
        {
            r.Error(t, $"rule '{id}': a {kindText} trigger needs an 'event'");
        }
        return new EventTrigger { Event = evt, Where = WhereReader.Read(r, t, id) };
    }

    internal override bool Concerns(string? key) => key is not null && Event == key;

    internal override void OnEvent(Rule rule, ref TriggerEvent on, double? before)
    {
        if (Matches(on.Event, on.State))
        {
            on.Fire(Fired(rule, on.Event));
        }
    }

    /// <summary>
    /// The candidate when <paramref name="e"/> matches: also for a delivery report, which updates nothing else but can
    /// fire a rule on that very event.
    /// </summary>
    internal static Candidate Fired(Rule rule, ClickEvent e) => new(rule, "event", [e.MessageId], TriggerDetails.Of(e), e.MessageId);
}
