using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Worker;

/// <summary>
/// A user's state as <c>explain</c> prints it: every stored field under its name in words ("first seen at", not <c>fs</c>),
/// times in UTC, one field a line, nested by indent. Built from the state's JSON form and the names of the C# properties
/// behind its short keys, so a field added to the state shows without a change here. <c>explain --raw</c> prints the JSON.
/// </summary>
public static class ReadableState
{
    // Epoch milliseconds between 2001 and 2286: a number in a time field outside it (0, a count) prints as it is.
    private const long EarliestMs = 1_000_000_000_000, LatestMs = 9_999_999_999_999;

    public static void Write(TextWriter o, UserState state, int indent = 1)
    {
        using var json = JsonDocument.Parse(UserStateSerializer.ToJson(state));
        foreach (var line in Members(json.RootElement, typeof(UserState), indent))
        {
            o.WriteLine(line);
        }
    }

    private static IEnumerable<string> Members(JsonElement obj, Type type, int depth)
    {
        var properties = PropertiesByJsonName(type);
        foreach (var p in obj.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null))
        {
            var info = properties.GetValueOrDefault(p.Name);
            foreach (var line in Member(info is null ? p.Name : Words(info.Name), p.Value, info?.PropertyType, info is not null && IsTime(info.Name), depth))
            {
                yield return line;
            }
        }
    }

    private static IEnumerable<string> Member(string name, JsonElement value, Type? type, bool time, int depth)
    {
        var pad = new string(' ', depth * 2);
        if (Inline(value, type, time) is { } text)
        {
            yield return name == "-" ? $"{pad}- {text}" : $"{pad}{name}: {text}";
            yield break;
        }
        yield return $"{pad}{name}:";
        var inner = Unwrap(type);
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var line in value.EnumerateArray().SelectMany(item => Member("-", item, ElementType(inner), time, depth + 1)))
            {
                yield return line;
            }
        }
        else if (inner is null || DictionaryValueType(inner) is not null)
        {
            var valueType = DictionaryValueType(inner);
            foreach (var line in value.EnumerateObject().SelectMany(p => Member(p.Name, p.Value, valueType, time, depth + 1)))
            {
                yield return line;
            }
        }
        else
        {
            foreach (var line in Members(value, inner, depth + 1))
            {
                yield return line;
            }
        }
    }

    /// <summary>A scalar, a list of scalars, or an object of scalars on one line; null for anything deeper.</summary>
    private static string? Inline(JsonElement v, Type? type, bool time)
    {
        var inner = Unwrap(type);
        switch (v.ValueKind)
        {
            case JsonValueKind.Array:
                var items = v.EnumerateArray().ToList();
                return items.Count == 0 ? "(none)" : items.All(IsScalar) ? string.Join(", ", items.Select(i => Scalar(i, time))) : null;
            case JsonValueKind.Object:
                var members = v.EnumerateObject().ToList();
                if (members.Count == 0)
                {
                    return "(none)";
                }
                if (!members.All(m => IsScalar(m.Value)) || members.Count > 6)
                {
                    return null;
                }
                if (DictionaryValueType(inner) is not null || inner is null)
                {
                    return string.Join(", ", members.Select(m => $"{m.Name} = {Scalar(m.Value, time)}"));
                }
                var properties = PropertiesByJsonName(inner);
                return string.Join(", ", members.Select(m => properties.GetValueOrDefault(m.Name) is { } p
                    ? $"{Words(p.Name)} {Scalar(m.Value, IsTime(p.Name))}" : $"{m.Name} {Scalar(m.Value, false)}"));
            case JsonValueKind.String when inner == typeof(byte[]):
                return $"({Convert.FromBase64String(v.GetString()!).Length} bytes)";
            default:
                return Scalar(v, time);
        }
    }

    private static bool IsScalar(JsonElement v) => v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array);

    private static string Scalar(JsonElement v, bool time) => v.ValueKind switch
    {
        JsonValueKind.Number when time && v.TryGetInt64(out var ms) && ms is >= EarliestMs and <= LatestMs =>
            DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture),
        JsonValueKind.String => v.GetString()!,
        _ => v.GetRawText(),
    };

    /// <summary>Fields that hold a time, by the property's name: <c>LastEventAt</c>, <c>UserPausedUntil</c>, <c>DeliverAfter</c>, <c>RetentionLatest</c>.</summary>
    private static bool IsTime(string property) =>
        property.EndsWith("At", StringComparison.Ordinal) || property.EndsWith("Until", StringComparison.Ordinal) || property.EndsWith("After", StringComparison.Ordinal)
        || property.EndsWith("Latest", StringComparison.Ordinal) || property.EndsWith("Anchor", StringComparison.Ordinal);

    /// <summary>"LastEventAt" → "last event at".</summary>
    private static string Words(string property)
    {
        var sb = new StringBuilder(property.Length + 4);
        for (var i = 0; i < property.Length; i++)
        {
            var c = property[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(property[i - 1]) || (i + 1 < property.Length && char.IsLower(property[i + 1]))))
            {
                sb.Append(' ');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static Dictionary<string, PropertyInfo> PropertiesByJsonName(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: JsonIgnoreCondition.Always })
            .GroupBy(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    private static Type? Unwrap(Type? type) => type is null ? null : Nullable.GetUnderlyingType(type) ?? type;

    private static Type? ElementType(Type? type) =>
        type is null ? null : type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static Type? DictionaryValueType(Type? type) =>
        type is null || !typeof(IDictionary).IsAssignableFrom(type) && !type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            ? null
            : type.GetInterfaces().Append(type).First(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)).GetGenericArguments()[1];
}
