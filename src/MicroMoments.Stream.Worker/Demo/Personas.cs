using System.Text.Json.Nodes;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>
/// Scripted users for the demo. Some events are back-dated so each moment arrives within seconds instead
/// of after the real 90 s, 5 min or 48 h: the rules see the same gaps a real user would leave.
/// </summary>
public static class Personas
{
    /// <summary>One scripted event: when (relative to the wave start) and the JSON body.</summary>
    public sealed record ScriptedEvent(TimeSpan SendAfter, JsonObject Body);

    public static IEnumerable<ScriptedEvent> Wave(int wave, DateTimeOffset start)
    {
        var newcomer = $"u-newcomer-{wave}";
        var failer = $"u-setup-{wave}";
        var shopper = $"u-shopper-{wave}";
        var power = $"u-power-{wave}";
        var lapsed = $"u-lapsed-{wave}";

        // A newcomer who signs up and then sits on the welcome screen (the dwell fires ~5 s later).
        yield return At(0, Track(newcomer, "Signed Up", start.AddSeconds(-86), "mobile", traits: ("Ada", "trial")));
        yield return At(0, Screen(newcomer, "Welcome", start.AddSeconds(-85), "mobile"));

        // Someone failing the notifications setup three times in a row.
        for (var i = 0; i < 3; i++)
        {
            yield return At(1 + i, Track(failer, "Task Failed", start.AddSeconds(1 + i), "desktop", ("task", "notifications-setup")));
        }

        // A shopper who adds to the cart and never checks out (the 5-minute absence ends ~6 s later).
        yield return At(1, Track(shopper, "Product Added", start.AddSeconds(-294), "mobile", ("cartId", $"cart-{wave}"), ("value", "49.90")));

        // An efficient power user: busy, successful, and left alone.
        foreach (var (feature, t) in new[] { ("dashboard", 0), ("reports", 1), ("automations", 2), ("api-keys", 3) })
        {
            yield return At(t, Track(power, "Feature Used", start.AddSeconds(t), "desktop", ("feature", feature)));
        }
        yield return At(4, Track(power, "Task Completed", start.AddSeconds(4), "desktop", ("task", "calendar-sync"), ("durationMs", "4200")));

        // An explorer (five features tried) last seen almost 48 hours ago: "Try It Out" fires ~8 s in.
        foreach (var (feature, i) in new[] { "dashboard", "reports", "automations", "api-keys", "search" }.Select((f, i) => (f, i)))
        {
            yield return At(0, Track(lapsed, "Feature Used", start.AddHours(-48).AddSeconds(4 + i), "desktop", ("feature", feature)));
        }

        // Someone who gives up on the company description, and someone who shares a report.
        yield return At(6, Track($"u-forms-{wave}", "Form Field Abandoned", start.AddSeconds(6), "desktop", ("form", "profile"), ("field", "Company Description")));
        yield return At(7, Track($"u-sharer-{wave}", "Content Shared", start.AddSeconds(7), "mobile", ("contentId", "report-42")));
    }

    private static ScriptedEvent At(double seconds, JsonObject body) => new(TimeSpan.FromSeconds(seconds), body);

    private static JsonObject Track(string user, string name, DateTimeOffset at, string device, params (string Key, string Value)[] props) =>
        Track(user, name, at, device, traits: null, props);

    private static JsonObject Track(string user, string name, DateTimeOffset at, string device, (string Name, string Plan)? traits, params (string Key, string Value)[] props)
    {
        var properties = new JsonObject();
        foreach (var (k, v) in props)
        {
            properties[k] = v;
        }
        var body = Envelope(user, at, device);
        body["type"] = "track";
        body["event"] = name;
        body["properties"] = properties;
        if (traits is { } t)
        {
            body["traits"] = new JsonObject { ["name"] = t.Name, ["plan"] = t.Plan };
        }
        return body;
    }

    private static JsonObject Screen(string user, string name, DateTimeOffset at, string device)
    {
        var body = Envelope(user, at, device);
        body["type"] = "screen";
        body["name"] = name;
        return body;
    }

    private static JsonObject Envelope(string user, DateTimeOffset at, string device) => new()
    {
        ["userId"] = user,
        ["messageId"] = Guid.NewGuid().ToString(),
        ["timestamp"] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        ["context"] = new JsonObject { ["device"] = new JsonObject { ["type"] = device }, ["timezone"] = "Europe/Berlin", ["locale"] = "en-GB" },
    };
}
