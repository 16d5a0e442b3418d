using System.Text.Json;
using System.Text.Json.Serialization;

namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// A property value that was a JSON number or boolean, kept as written (<c>18.99</c>, <c>true</c>): trigger details
/// write it back unquoted and exactly, with no round trip through a double. Its text is what templates and
/// conditions see.
/// </summary>
[JsonConverter(typeof(JsonLiteralConverter))]
public readonly record struct JsonLiteral
{
    private JsonLiteral(string text) => Text = text;

    public string Text { get; }

    public override string ToString() => Text;

    /// <summary>The literal for <paramref name="text"/> when it is <c>true</c>, <c>false</c> or a JSON number; else null.</summary>
    public static JsonLiteral? TryCreate(string text) => IsLiteral(text) ? new JsonLiteral(text) : null;

    /// <summary>From the parser, whose text came from a number, true or false token.</summary>
    internal static JsonLiteral Trusted(string text) => new(text);

    /// <summary>JSON's number grammar, or a boolean: anything else would make the written JSON invalid.</summary>
    public static bool IsLiteral(string s)
    {
        if (s is "true" or "false")
        {
            return true;
        }
        var i = 0;
        if (i < s.Length && s[i] == '-')
        {
            i++;
        }
        if (i == s.Length || !char.IsAsciiDigit(s[i]))
        {
            return false;
        }
        if (s[i] == '0')
        {
            i++;
        }
        else
        {
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
        }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            if (i == start)
            {
                return false;
            }
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-')
            {
                i++;
            }
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            if (i == start)
            {
                return false;
            }
        }
        return i == s.Length;
    }
}

/// <summary>Writes a <see cref="JsonLiteral"/> unquoted, as it was received.</summary>
public sealed class JsonLiteralConverter : JsonConverter<JsonLiteral>
{
    public override JsonLiteral Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.True => JsonLiteral.Trusted("true"),
            JsonTokenType.False => JsonLiteral.Trusted("false"),
            JsonTokenType.Number => JsonLiteral.Trusted(System.Text.Encoding.UTF8.GetString(reader.ValueSpan)),
            _ => throw new JsonException("expected a number or a boolean"),
        };

    public override void Write(Utf8JsonWriter writer, JsonLiteral value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Text, skipInputValidation: true);
}
