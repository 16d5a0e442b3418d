using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Rules.Where;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>Reads a <c>did</c> or <c>not: { did }</c> entry of <c>when</c>, reporting problems with their lines.</summary>
internal static class DidReader
{
    /// <summary>
    /// <c>{ did: ... }</c> or <c>{ not: { did: ... } }</c>; <c>did</c> is an event name (with <c>within</c> beside it) or
    /// <c>{ event, where?, within? }</c>.
    /// </summary>
    public static Condition? Read(NodeReader r, YamlMappingNode c, string id)
    {
        var negated = r.Child(c, "not") is not null;
        if (negated)
        {
            r.Known(c, "not");
            if (r.Child(c, "not") is not YamlMappingNode inner || r.Child(inner, "did") is null)
            {
                r.Error(r.Child(c, "not")!, $"rule '{id}': 'not' takes {{ did: ... }}, e.g. not: {{ did: {{ event: Trial Started, within: 30d }} }}");
                return null;
            }
            c = inner;
        }
        r.Known(c, "did", "within");
        var node = r.Child(c, "did")!;
        var spec = c;
        WhereFilter where = WhereFilter.None;
        string? name;
        if (node is YamlMappingNode m)
        {
            r.Known(m, "event", "where", "within");
            if (r.Child(c, "within") is { } outside)
            {
                r.Error(outside, $"rule '{id}': put 'within' inside the did mapping");
            }
            name = r.String(m, "event");
            where = WhereReader.Read(r, m, id);
            spec = m;
        }
        else
        {
            name = (node as YamlScalarNode)?.Value;
        }
        if (string.IsNullOrWhiteSpace(name))
        {
            r.Error(node, $"rule '{id}': 'did' names an event: did: Trial Started, or did: {{ event: Trial Started, where: {{...}}, within: 30d }}");
            return null;
        }
        TimeSpan? within = r.Child(spec, "within") is null ? null : r.Duration(spec, "within", required: false);
        return Condition.Of(new DidCondition(EventNames.Normalize(name), where, within), negated);
    }
}
