using System.Text.Json.Nodes;
using MicroMoments.Stream.Core.Decisions;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>
/// Scripted users for the demo. Some events are back-dated so each moment arrives within seconds instead
/// of after the real 90 s, 5 min or 48 h: the rules see the same gaps a real user would leave.
/// </summary>
public static class Personas
{
    /// <summary>One scripted event: when (relative to the wave start) and the JSON body.</summary>
    public sealed record ScriptedEvent(TimeSpan SendAfter, JsonObject Body);

    /// <summary>A long-time user who dismisses every nudge (the demo's delivery service knows them): the same user every wave.</summary>
    public const string Skeptic = "u-skeptic";

    /// <summary>The waves the skeptic appears in: enough for a third dismissal and the pause after it.</summary>
    public const int SkepticWaves = 6;

    /// <summary>Where the demo's users live: Berlin first, then zones whose offsets leave no 9-hour gap around the clock.</summary>
    private static readonly string[] Zones =
    [
        "Europe/Berlin", "Europe/London", "Asia/Dubai", "Asia/Kolkata", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo",
        "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles",
        "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
    ];

    /// <summary>
    /// The first of <see cref="Zones"/> where it is between 10:00 and 19:00 at <paramref name="at"/>: the demo's nudges then go
    /// out at once, its delivery service answers within seconds, and the report and console fill at any hour. Quiet hours
    /// and send windows still apply; they just do not hold every nudge until the morning.
    /// </summary>
    public static string DaytimeZone(DateTimeOffset at) =>
        Zones.FirstOrDefault(z => TimeZones.Local(at, z).Hour is >= 10 and < 19) ?? Zones[0];

    public static IEnumerable<ScriptedEvent> Wave(int wave, DateTimeOffset start)
    {
        var zone = DaytimeZone(start);
        foreach (var e in WaveEvents(wave, start))
        {
            e.Body["context"]!["timezone"] = zone;
            yield return e;
        }
    }

    private static IEnumerable<ScriptedEvent> WaveEvents(int wave, DateTimeOffset start)
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

        // Someone who read the help center and left it: the demo offer, in an experiment (control, short, holdout).
        yield return At(2, Track($"u-help-{wave}", "Help Center Viewed", start.AddSeconds(-60), "desktop", ("article", "getting-started")));
        yield return At(2, Track($"u-help-{wave}", "Help Center Exited", start.AddSeconds(2), "desktop", ("article", "getting-started")));

        // The skeptic, a user for a month: a fourth use of a new feature each wave unlocks its tooltip; the third
        // dismissed nudge pauses every rule for them (dismissal_pause, scope: user in the default rules).
        if (wave <= SkepticWaves)
        {
            if (wave == 1)
            {
                // Signed up a month ago, so no newcomer's one-tip-a-day limit; the inactivity this back-dated sign-up
                // leaves is older than MaxTriggerAge when its timer fires, so it triggers nothing (stale_trigger).
                yield return At(0, Track(Skeptic, "Signed Up", start.AddDays(-30), "desktop"));
            }
            for (var i = 0; i < 4; i++)
            {
                yield return At(3, Track(Skeptic, "Feature Used", start.AddSeconds(3), "desktop", ("feature", $"feature-{wave}")));
            }
        }
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
