using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// The size budget of an encoded command or cancellation (docs/guarantees.md, "Size budget"). Text the command copies
/// from events (message fields filled from properties, trigger details and event ids, the user block) is cut to fit,
/// ending in <see cref="Marker"/>; the ids that name the command are never cut.
/// </summary>
/// <remarks>
/// 900,000 bytes leaves a stock broker's 1 MiB message limit (<c>message.max.bytes</c> 1,048,588) room for the key
/// (a user id, at most 512 bytes), the headers and the record overhead. Without a budget a 912 KB event gave a 910 KB
/// command, and a bigger one a command the broker refused.
/// </remarks>
public static class CommandSizeBudget
{
    /// <summary>The most bytes an encoded command or cancellation value may have.</summary>
    public const int MaxValueBytes = 900_000;

    /// <summary>Ends every text that was cut.</summary>
    public const string Marker = "…[truncated]";

    /// <summary>
    /// The command itself when <paramref name="encodedLength"/> is within <paramref name="maxBytes"/>; else a copy whose
    /// copied texts longer than one common length are cut to it, with the marker: the longest such length that fits.
    /// One length for all of them keeps short texts whole and makes the cut deterministic (simulate and the worker agree).
    /// When even cutting everything to the marker does not fit, that copy is returned: the caller dead-letters it.
    /// </summary>
    public static InterventionCommand Fit(InterventionCommand command, Func<InterventionCommand, int> encodedLength, int maxBytes = MaxValueBytes)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(encodedLength);
        if (encodedLength(command) <= maxBytes)
        {
            return command;
        }
        // Binary search over the cap: a smaller cap never makes the command longer.
        int low = 0, high = LongestText(command);
        InterventionCommand? best = null;
        while (low <= high)
        {
            var cap = low + ((high - low) / 2);
            var cut = Cut(command, cap);
            if (encodedLength(cut) <= maxBytes)
            {
                best = cut;
                low = cap + 1;
            }
            else
            {
                high = cap - 1;
            }
        }
        return best ?? Cut(command, 0);
    }

    /// <summary><paramref name="text"/> itself when it has at most <paramref name="cap"/> characters, else its first ones and the marker.</summary>
    public static string Cut(string text, int cap)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= cap)
        {
            return text;
        }
        // Never half a surrogate pair: the JSON writer would refuse it.
        var keep = cap > 0 && char.IsHighSurrogate(text[cap - 1]) ? cap - 1 : cap;
        return string.Concat(text.AsSpan(0, keep), Marker);
    }

    private static string? CutOrNull(string? text, int cap) => text is null ? null : Cut(text, cap);

    private static InterventionCommand Cut(InterventionCommand c, int cap) => c with
    {
        Message = new InterventionMessage(Cut(c.Message.Title, cap), Cut(c.Message.Body, cap),
            c.Message.Action is { } a ? new MessageAction(Cut(a.Label, cap), CutOrNull(a.Url, cap)) : null),
        Trigger = c.Trigger with { EventIds = [.. c.Trigger.EventIds.Select(id => Cut(id, cap))], Details = Cut(c.Trigger.Details, cap) },
        User = c.User with
        {
            Device = CutOrNull(c.User.Device, cap),
            Timezone = CutOrNull(c.User.Timezone, cap),
            Segment = CutOrNull(c.User.Segment, cap),
        },
    };

    /// <summary>
    /// Names and values cut alike (details are the triggering event's properties, names included). Names that are
    /// the same once cut keep the first one's value: a JSON object must not repeat a name.
    /// </summary>
    private static Dictionary<string, object> Cut(IReadOnlyDictionary<string, object> details, int cap)
    {
        var cut = new Dictionary<string, object>(details.Count, StringComparer.Ordinal);
        foreach (var (name, value) in details)
        {
            cut.TryAdd(Cut(name, cap), value switch
            {
                string s => Cut(s, cap),
                // A long number becomes a string: a number cut in the middle is another number.
                JsonLiteral { Text: { } t } when t.Length > cap => Cut(t, cap),
                _ => value,
            });
        }
        return cut;
    }

    private static int LongestText(InterventionCommand c)
    {
        var longest = Math.Max(c.Message.Title.Length, c.Message.Body.Length);
        if (c.Message.Action is { } a)
        {
            longest = Math.Max(longest, Math.Max(a.Label.Length, a.Url?.Length ?? 0));
        }
        foreach (var id in c.Trigger.EventIds)
        {
            longest = Math.Max(longest, id.Length);
        }
        foreach (var (name, value) in c.Trigger.Details)
        {
            longest = Math.Max(longest, Math.Max(name.Length, value switch { string s => s.Length, JsonLiteral { Text: { } t } => t.Length, _ => 0 }));
        }
        return Math.Max(longest, Math.Max(c.User.Device?.Length ?? 0, Math.Max(c.User.Timezone?.Length ?? 0, c.User.Segment?.Length ?? 0)));
    }
}
