using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>Markup the console wrote itself: the only thing <see cref="Html"/> appends unescaped.</summary>
public readonly record struct Markup(string Value)
{
    public override string ToString() => Value;
}

/// <summary>
/// Builds a page. Every interpolated value is HTML-encoded unless it is <see cref="Markup"/>, so a user id, trait or
/// rule id that holds markup can only ever show as text: escaping is the default, not a call to remember.
/// </summary>
public sealed class Html
{
    private readonly StringBuilder _builder = new(16 * 1024);

    internal StringBuilder Builder => _builder;

    internal void Encode(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _builder.Append(HtmlEncoder.Default.Encode(text)); // the same string back when nothing needs encoding
        }
    }

    public Html Add([InterpolatedStringHandlerArgument("")] HtmlHandler handler) => this;

    /// <summary>The encoded text of <paramref name="text"/>, for building markup in pieces.</summary>
    public static Markup Text(string? text) => new(string.IsNullOrEmpty(text) ? "" : HtmlEncoder.Default.Encode(text));

    /// <summary>A query-string value, encoded for a URL and then for an attribute.</summary>
    public static string Query(string value) => Uri.EscapeDataString(value);

    public override string ToString() => _builder.ToString();
}

/// <summary>Interpolation into <see cref="Html"/>: literals as written, values encoded.</summary>
[InterpolatedStringHandler]
public readonly struct HtmlHandler
{
    private readonly Html _html;

    public HtmlHandler(int literalLength, int formattedCount, Html html)
    {
        _ = formattedCount;
        _html = html;
        html.Builder.EnsureCapacity(html.Builder.Length + literalLength);
    }

    public void AppendLiteral(string value) => _html.Builder.Append(value);

    public void AppendFormatted(Markup value) => _html.Builder.Append(value.Value);

    public void AppendFormatted(string? value) => _html.Encode(value);

    public void AppendFormatted<T>(T value) => _html.Encode(Convert.ToString(value, CultureInfo.InvariantCulture));

    public void AppendFormatted<T>(T value, string? format) where T : IFormattable =>
        _html.Encode(value.ToString(format, CultureInfo.InvariantCulture));
}
