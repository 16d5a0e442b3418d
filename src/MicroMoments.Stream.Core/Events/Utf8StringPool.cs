using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Unicode;

namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// One string per short JSON text that recurs — event names, property names, feature names, devices — so a
/// stream of events does not make a new copy of each per event (fewer allocations, and the state keeps shared
/// copies). Bounded: once full, texts not yet pooled are simply allocated.
/// </summary>
internal sealed class Utf8StringPool(int maxStrings, int maxLength)
{
    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);

    /// <summary>The current token's text (a string or a property name), from the pool when it is short and plain.</summary>
    public string Get(ref Utf8JsonReader r)
    {
        var utf8 = r.ValueSpan;
        if (r.ValueIsEscaped || r.HasValueSequence || utf8.Length > maxLength)
        {
            return r.GetString()!;
        }
        Span<char> chars = stackalloc char[maxLength];
        if (Utf8.ToUtf16(utf8, chars, out _, out var length, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            return r.GetString()!; // not UTF-8: GetString reports it as before
        }
        var text = chars[..length];
        if (_strings.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var pooled))
        {
            return pooled;
        }
        var s = new string(text);
        if (_strings.Count < maxStrings)
        {
            _strings.TryAdd(s, s);
        }
        return s;
    }
}
