using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Rules.Where;

/// <summary>
/// What a <c>where</c> key can address: <c>event</c> (the event name as sent), <c>name</c> (a page's or screen's name; for
/// any other event, its event name), <c>properties.&lt;p&gt;</c>, the <c>context.*</c> paths the parser keeps, and the
/// user's <c>user.*</c> value paths. A key without a dot is a property (<c>task</c> = <c>properties.task</c>).
/// </summary>
public static class WhereKeys
{
    public const string Event = "event", Name = "name", Properties = "properties.", Context = "context.", User = "user.";

    /// <summary>The <c>context.*</c> paths an event keeps (docs/wire-formats.md); other context fields are not read.</summary>
    public static readonly IReadOnlyList<string> ContextPaths = ["context.device.type", "context.timezone", "context.locale", "context.location.<field>", "context.traits.<trait>"];

    /// <summary>The canonical key for <paramref name="key"/> as written, or null with <paramref name="problem"/> saying why it cannot address anything.</summary>
    public static string? Canonical(string key, out string? problem)
    {
        problem = null;
        if (key is Event or Name)
        {
            return key;
        }
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return Properties + key;
        }
        var root = key[..(dot + 1)];
        var rest = key[(dot + 1)..];
        if (rest.Length == 0)
        {
            problem = $"'{key}' names no field under '{root}'";
            return null;
        }
        switch (root)
        {
            case Properties:
                return key;
            case Context:
                if (ResolvesContext(rest))
                {
                    return key;
                }
                problem = $"unknown context path '{key}': a where can read {string.Join(", ", ContextPaths)}";
                return null;
            case User:
                if (key != "user.cluster" && ValuePaths.IsKnown(key))
                {
                    return key;
                }
                problem = key == "user.cluster"
                    ? "'user.cluster' cannot be used in a where (it needs the learned segments); use it in 'when'"
                    : $"unknown user path '{key}' (see docs/rules.md, \"Value paths\")";
                return null;
            default:
                problem = $"unknown where root '{key[..dot]}' in '{key}': a key is event, name, properties.<p>, context.<p>, user.<path>, or a property name without a dot";
                return null;
        }
    }

    private static bool ResolvesContext(string rest) =>
        rest is "device.type" or "timezone" or "locale"
        || (rest.StartsWith("location.", StringComparison.Ordinal) && rest.Length > "location.".Length)
        || (rest.StartsWith("traits.", StringComparison.Ordinal) && rest.Length > "traits.".Length);

    /// <summary>The value of a <c>context.*</c> path (given without <c>context.</c>) on <paramref name="e"/>.</summary>
    internal static string? ResolveContext(string rest, ClickEvent e) => rest switch
    {
        "device.type" => e.Device,
        "timezone" => e.Timezone,
        "locale" => e.Locale,
        _ when rest.StartsWith("location.", StringComparison.Ordinal) => e.Location.GetValueOrDefault(rest["location.".Length..]),
        _ when rest.StartsWith("traits.", StringComparison.Ordinal) => e.Traits.GetValueOrDefault(rest["traits.".Length..]),
        _ => null,
    };
}
