using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CsCheck;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Issue 11: one user's input never changes another user's commands or state. A fixed, realistic stream of
/// "good" users runs through <c>simulate</c>'s core with the default rules, once alone and once with random and
/// hostile lines of "attacker" users mixed in; every good user's commands, decisions and final state must be
/// byte-identical. The hostile corpus (tests/MicroMoments.Stream.Fuzz/corpus/events) seeds the generator.
/// </summary>
/// <remarks>
/// Attacker lines carry a timestamp no later than the good line they follow (or none, or an absurd one), because
/// <c>simulate</c>'s clock is the file's timeline, the latest timestamp seen: a line from a later time is "now" in
/// that file and legitimately fires everyone's timers due before it (a real file jumps days ahead between lines).
/// The worker's clock is the wall clock, and it dead-letters a record more than <c>MaxFutureSkew</c> (5 min) ahead of
/// it (future_timestamp) before any rule sees it; so a year-2100 or year-9999 line cannot reach the worker's engine,
/// and in <c>simulate</c> it is the file's own timeline. The <see cref="AttackKind.FutureTimestamp"/> attacks are
/// therefore the future the worker accepts: up to 5 min ahead of the latest time, and no later than the next good
/// line, the file's next "now" (the corpus replay checks that the far-future seeds neither throw nor hang).
/// </remarks>
public sealed class UserIsolationPropertyTests
{
    /// <summary>About 15 s on the shared 2-core machine under load (800 took 19.5 s; 5,000 ran green in 31 s when it was quieter); the run prints its count and time.</summary>
    private const int Iterations = 600;

    /// <summary>The worker's default <c>MaxFutureSkew</c>: how far ahead of its clock a record may be.</summary>
    private static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Corpus lines stamped after the good stream starts (year 9999 in ts-00 and ts-01, the day-crossing second line
    /// of the tz-folder seeds): placed among earlier good lines they are the file's "now" (see the remarks), and the
    /// worker would dead-letter the far-future ones (future_timestamp), so they are no attack on other users' output.
    /// FuzzCorpusTests replays them whole.
    /// </summary>
    private static bool StampedAfterStart(byte[] line) =>
        Regex.Match(Encoding.Latin1.GetString(line), "\"timestamp\":\"([^\"]*)\"") is { Success: true } m
        && DateTimeOffset.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) && t > Start;

    private static readonly string[] GoodUsers = ["good-1", "good-2", "good-3", "good-4", "good-5", "good-6"];
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero); // after the seeds' own timestamps (see StampedAfterStart)

    private static readonly List<(DateTimeOffset At, byte[] Line)> GoodStream = BuildGoodStream();
    private static readonly Outcome Baseline = Run([]);

    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "corpus", "events");

    [Fact]
    public void GoodUsers_AttackersMixedIn_OutputUnchanged()
    {
        AssertIsolated(Enum.GetValues<AttackKind>());
    }

    [Fact]
    public void GoodStream_Alone_ExercisesManyRulesForEveryGoodUser()
    {
        // The property is only as strong as what the good users do: make sure they trigger real commands.
        Assert.Equal(Baseline, Run([]));
        Assert.All(GoodUsers, u => Assert.NotEmpty(Baseline.Users[u].Decisions));
        var rules = Baseline.Users.Values.SelectMany(u => u.Commands).Select(c => JsonNode.Parse(c)!["data"]!["ruleId"]!.GetValue<string>()).Distinct().ToList();
        Assert.True(rules.Count >= 8, $"the good stream triggers only {string.Join(", ", rules)}");
    }

    internal static void AssertIsolated(AttackKind[] kinds, int iterations = Iterations)
    {
        var started = TimeProvider.System.GetTimestamp();
        AttackGen(kinds).List[1, 20]
            .Sample(attacks =>
            {
                var outcome = Run(attacks);
                foreach (var user in GoodUsers)
                {
                    var expected = Baseline.Users[user];
                    var actual = outcome.Users[user];
                    AssertSame(user, "commands", expected.Commands, actual.Commands);
                    AssertSame(user, "decisions", expected.Decisions, actual.Decisions);
                    AssertSame(user, "state", [expected.State], [actual.State]);
                }
            }, iter: iterations, threads: 1, print: attacks => string.Join("\n", attacks));
        Console.WriteLine($"user isolation: {iterations} iterations over {string.Join(", ", kinds)} in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:F1} s");
    }

    private static void AssertSame(string user, string what, IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "(none)";
            var a = i < actual.Count ? actual[i] : "(none)";
            if (e != a)
            {
                var at = e.Zip(a).TakeWhile(p => p.First == p.Second).Count();
                var from = Math.Max(0, at - 120);
                Assert.Fail($"{user}'s {what} changed at #{i}, character {at}:\nwithout attackers: …{e[from..Math.Min(e.Length, at + 120)]}\nwith attackers:    …{a[from..Math.Min(a.Length, at + 120)]}");
            }
        }
    }

    /// <summary>Runs the good stream with <paramref name="attacks"/> inserted, as <c>simulate</c> reads a file.</summary>
    internal static Outcome Run(IReadOnlyList<Attack> attacks)
    {
        var file = new MemoryStream();
        var byPosition = attacks.ToLookup(a => a.After % (GoodStream.Count + 1));
        for (var i = 0; i <= GoodStream.Count; i++)
        {
            // Attacks at position i follow good line i - 1 and take no later timestamp than it; a future one is
            // at most MaxFutureSkew ahead of it and no later than the next good line.
            var at = i == 0 ? Start - TimeSpan.FromHours(1) : GoodStream[i - 1].At;
            var ahead = i < GoodStream.Count && GoodStream[i].At - at < MaxFutureSkew ? GoodStream[i].At : at + MaxFutureSkew;
            foreach (var attack in byPosition[i])
            {
                file.Write(attack.Line(attack.Kind == AttackKind.FutureTimestamp ? ahead : at));
                file.WriteByte((byte)'\n');
            }
            if (i < GoodStream.Count)
            {
                file.Write(GoodStream[i].Line);
                file.WriteByte((byte)'\n');
            }
        }

        // Exactly as simulate reads a file: split into byte lines, each fed as the worker parses a record, drained by P7D.
        var simulation = new OfflineSimulation(Scenario.Defaults);
        foreach (var line in NdjsonLines.Read(file.ToArray()))
        {
            _ = simulation.Feed(line.Bytes, line.Number, "events.ndjson");
        }
        simulation.AdvanceBy(TimeSpan.FromDays(7));

        var users = GoodUsers.ToDictionary(u => u, u => new UserOutcome(
            simulation.Interventions.Where(c => c.UserId == u).Select(c => Encoding.UTF8.GetString(InterventionCloudEvents.Encode(c))).ToList(),
            simulation.Decisions.Where(d => d.UserId == u).Select(d => JsonSerializer.Serialize(d, InterventionCloudEvents.DataOptions)).ToList(),
            simulation.Users.TryGetValue(u, out var state) ? StateWithoutPosition(state) : "(no state)"));
        return new Outcome(users);
    }

    /// <summary>
    /// The state without its watermarks: they hold the record's offset (in <c>simulate</c>, its line number), which
    /// any record of the partition moves; they order redeliveries and are no user's data.
    /// </summary>
    private static string StateWithoutPosition(UserState state)
    {
        var json = JsonNode.Parse(UserStateSerializer.ToJson(state))!.AsObject();
        json.Remove("wm");
        return json.ToJsonString();
    }

    private static Gen<Attack> AttackGen(AttackKind[] kinds)
    {
        var seeds = Directory.GetFiles(CorpusDirectory).Order(StringComparer.Ordinal)
            .SelectMany(f => SplitLines(File.ReadAllBytes(f)).Take(50).Where(line => !StampedAfterStart(line)).Select(line => (Name: Path.GetFileName(f), Line: line)))
            .ToArray();
        var byKind = new Dictionary<AttackKind, Gen<Func<DateTimeOffset, byte[]>>>
        {
            // Corpus lines as they are: their own timestamps (2026-11-24) lie before the good stream's.
            [AttackKind.Seed] = Gen.OneOf(seeds).Select(s => (Func<DateTimeOffset, byte[]>)(_ => s.Line)),
            [AttackKind.RandomJson] = Gen.Select(AttackerId, EventName, Props(Value), Traits, Tz(ValidZones), TimestampGen, RandomJson),
            [AttackKind.RandomBytes] = Gen.Byte.Array[0, 300].Select(b => (Func<DateTimeOffset, byte[]>)(_ => b.Where(x => x != (byte)'\n' && x != (byte)'\r').ToArray())),
            [AttackKind.TimeZone] = Gen.Select(AttackerId, EventName, Props(Value), Traits, Tz(HostileZones), TimestampGen, RandomJson),
            [AttackKind.AbsurdNumber] = Gen.Select(AttackerId, Gen.OneOf("Task Completed", "Onboarding Step Completed", "Onboarding Step Skipped", "Product Added"),
                Props(Gen.OneOf(AbsurdNumbers)), Traits, Tz(ValidZones), TimestampGen, RandomJson),
            // The latest time the worker would accept (see Run), or a little before it, in UTC or at another offset.
            [AttackKind.FutureTimestamp] = Gen.Select(AttackerId, EventName, Gen.OneOf(Gen.Const(0), Gen.Int[0, 300_000]), Gen.OneOf(0, 14 * 60, -12 * 60, 5 * 60 + 45),
                (u, e, ms, offset) => (Func<DateTimeOffset, byte[]>)(ahead => Json(new JsonObject
                {
                    ["type"] = "track", ["event"] = e, ["userId"] = u,
                    ["timestamp"] = (ahead - TimeSpan.FromMilliseconds(ms)).ToOffset(TimeSpan.FromMinutes(offset)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
                }))),
            [AttackKind.InvalidUtf8] = Gen.Select(Gen.Byte[(byte)0x80, (byte)0xff].Array[1, 4], EventName, (bad, e) => (Func<DateTimeOffset, byte[]>)(at =>
                [.. "{\"type\":\"track\",\"event\":\""u8, .. Encoding.UTF8.GetBytes(e), .. "\",\"userId\":\"m-"u8, .. bad, .. "\",\"timestamp\":\""u8,
                 .. Encoding.UTF8.GetBytes(Iso(at)), .. "\",\"properties\":{\"task\":\"t-"u8, .. bad, .. "\",\"feature\":\""u8, .. bad, .. "\"}}"u8])),
            [AttackKind.DeepNesting] = Gen.Select(AttackerId, Gen.Int[100, 20_000], Gen.OneOf("properties", "context", "traits", "task"), (u, depth, where) => (Func<DateTimeOffset, byte[]>)(at =>
                Encoding.UTF8.GetBytes($"{{\"type\":\"track\",\"event\":\"Task Failed\",\"userId\":\"{u}\",\"timestamp\":\"{Iso(at)}\",\"{where}\":{new string('[', depth)}{new string(']', depth)}}}"))),
            [AttackKind.Volume] = Gen.Select(AttackerId, Gen.Int[100, 1_000], Gen.OneOf("traits", "features", "tasks", "props"), Volume),
            [AttackKind.Markup] = Gen.Select(AttackerId, Gen.OneOf("Task Failed", "Product Added", "Form Field Abandoned", "Feature Used", "identify", "Setup Completed"),
                Gen.OneOf(MarkupTexts), TimestampGen, (u, e, text, ts) => (Func<DateTimeOffset, byte[]>)(at => Json(new JsonObject
                {
                    ["type"] = e == "identify" ? "identify" : "track", ["event"] = e, ["userId"] = u, ["timestamp"] = ts(at),
                    ["properties"] = new JsonObject { ["task"] = text, ["cartId"] = text, ["form"] = text, ["field"] = "Company Description", ["feature"] = text, ["step"] = text },
                    ["traits"] = new JsonObject { ["name"] = text },
                }))),
            [AttackKind.DuplicateMessageId] = Gen.Select(AttackerId, EventName, Gen.Int[0, 10_000], (u, e, n) => (Func<DateTimeOffset, byte[]>)(at => Json(new JsonObject
            {
                ["type"] = "track", ["event"] = e, ["userId"] = u, ["timestamp"] = Iso(at),
                ["messageId"] = JsonNode.Parse(GoodStream[n % GoodStream.Count].Line)!["messageId"]?.DeepClone(),
            }))),
        };
        return Gen.OneOf<Attack>(kinds.Where(byKind.ContainsKey).Select(k => byKind[k].Select(make => new Attack(k, 0, make))).ToArray())
            .Select(Gen.Int[0, 10_000], (a, after) => a with { After = after });
    }

    private static readonly string[] ValidZones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Lord_Howe", "Pacific/Kiritimati"];

    private static readonly string[] HostileZones =
        ["Europe", "America/", "Etc", "right", "posix", "right/UTC", "../../../../etc/passwd", "", "Europe/Berlin\u0000", "localtime",
         "Factory", "zone.tab", "+14:00", "Europe/" + new string('A', 50_000), new string('x', 50_000)];

    private static readonly string[] AbsurdNumbers = ["1e400", "-1e400", "\"Infinity\"", "\"-Infinity\"", "\"NaN\"", "-5000", "1.7976931348623157e308", "9223372036854775807", "1e300", "\"1e400\""];

    private static readonly string[] MarkupTexts =
        ["\"><script>alert(1)</script>/../../@evil.example?a=1#", "javascript:alert(1)", "https://evil.example/", "{{user.traits.name}}", "%0d%0aSet-Cookie:x=1",
         "<img src=x onerror=alert(1)>", "../../../etc/passwd", "\u202egnp.exe", "dashboard"];

    private static readonly string[] Vocabulary =
        ["Signed Up", "Onboarding Step Viewed", "Onboarding Step Completed", "Onboarding Step Skipped", "Onboarding Completed", "Setup Completed",
         "Task Failed", "Task Completed", "Feature Used", "Form Field Abandoned", "Form Completed", "Configuration Skipped", "Product Added",
         "Order Completed", "Help Center Viewed", "Help Center Exited", "Content Shared", "Email Opened", "Email Clicked", "Demo Booked",
         "Intervention Delivered", "Intervention Displayed", "Intervention Clicked", "Intervention Dismissed", "Intervention Converted", "task_failed"];

    private static readonly string[] PropertyNames =
        ["task", "durationMs", "feature", "step", "totalSteps", "cartId", "value", "form", "field", "article", "contentId", "interventionId", "ruleId", "name", "duration_ms", "total_steps"];

    private static readonly Gen<string> AttackerId = Gen.OneOf<string>(
        Gen.Int[0, 9].Select(i => $"atk-{i}"),
        Gen.OneOf("Good-1", "good-1 ", " good-1", "good_1", "GOOD-1", "good-1\u200b", "good\u00ad-1", "good-1\u0000", "good-\u0031\u0301", "g\u043eod-1", "good-10", "good-1/../good-2"),
        Gen.String[Gen.Char, 1, 30].Where(s => !GoodUsers.Contains(s)));

    private static readonly Gen<string> EventName = Gen.OneOf<string>(Gen.OneOf(Vocabulary), Gen.String[Gen.Char.AlphaNumeric, 0, 20]);

    private static readonly Gen<JsonNode?> Value = Gen.OneOf<JsonNode?>(
        Gen.Int.Select(i => (JsonNode?)i),
        Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)d : "NaN"),
        Gen.String.Select(s => (JsonNode?)s),
        Gen.OneOf(Vocabulary).Select(s => (JsonNode?)s),
        // Not the good users' task names: a plausible duration from anyone legitimately moves the population's usual time.
        Gen.OneOf("dashboard", "reports", "3", "Company Description", "data-visualization", "c1", "faster-than-usual")
            .Select(s => (JsonNode?)s),
        Gen.Bool.Select(b => (JsonNode?)b),
        Gen.Const((JsonNode?)null),
        Gen.Const((JsonNode?)new JsonArray(1, "a", null)),
        Gen.Const((JsonNode?)new JsonObject { ["a"] = new JsonObject { ["b"] = 1 } }));

    private static Gen<JsonObject> Props(Gen<JsonNode?> values) =>
        Gen.Select(Gen.OneOf(PropertyNames), values, (k, v) => (k, v)).List[0, 6].Select(kvs =>
        {
            var o = new JsonObject();
            foreach (var (k, v) in kvs)
            {
                o[k] = v?.DeepClone();
            }
            return o;
        });

    private static Gen<JsonObject> Props(Gen<string> rawNumbers) =>
        Gen.Select(Gen.OneOf("notifications-setup", "calendar-sync", "data-visualization"), rawNumbers, (task, n) =>
            JsonNode.Parse($"{{\"task\":\"{task}\",\"durationMs\":{Finite(n)},\"step\":{Finite(n)},\"totalSteps\":{Finite(n)},\"value\":{Finite(n)},\"cartId\":\"c1\"}}")!.AsObject());

    // System.Text.Json refuses 1e400 as a node; the raw line keeps it (see RandomJson).
    private static string Finite(string n) => n is "1e400" or "-1e400" ? $"\"@raw:{n}\"" : n;

    private static readonly Gen<JsonObject?> Traits = Gen.Frequency(
        (3, Gen.Const((JsonObject?)null)),
        (1, Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 1, 10], Value, (k, v) => (JsonObject?)new JsonObject { [k] = v?.DeepClone(), ["name"] = "Mallory" })));

    private static Gen<string?> Tz(string[] zones) => Gen.Frequency((1, Gen.Const((string?)null)), (4, Gen.OneOf(zones).Select(z => (string?)z)));

    /// <summary>A timestamp no later than the line the attack follows, none at all, or garbage.</summary>
    private static readonly Gen<Func<DateTimeOffset, string?>> TimestampGen = Gen.Frequency(
        (6, Gen.Const((Func<DateTimeOffset, string?>)(at => Iso(at)))),
        (2, Gen.Int[1, 100_000].Select(s => (Func<DateTimeOffset, string?>)(at => Iso(at - TimeSpan.FromSeconds(s))))),
        (1, Gen.Const((Func<DateTimeOffset, string?>)(_ => null))),
        (1, Gen.OneOf("not a time", "", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "1732443330", "2026-11-24T10:00:00+25:00")
            .Select(s => (Func<DateTimeOffset, string?>)(_ => s))));

    private static Func<DateTimeOffset, byte[]> RandomJson(string user, string name, JsonObject props, JsonObject? traits, string? tz, Func<DateTimeOffset, string?> ts) => at =>
    {
        var body = new JsonObject
        {
            ["type"] = name == "identify" ? "identify" : "track",
            ["event"] = name,
            ["userId"] = user,
            ["properties"] = props.DeepClone(),
            ["context"] = new JsonObject { ["timezone"] = tz, ["device"] = new JsonObject { ["type"] = "mobile" } },
        };
        if (ts(at) is { } t)
        {
            body["timestamp"] = t;
        }
        if (traits is not null)
        {
            body["traits"] = traits.DeepClone();
        }
        return Json(body);
    };

    private static Func<DateTimeOffset, byte[]> Volume(string user, int count, string what) => at =>
    {
        var body = new JsonObject { ["type"] = what == "traits" ? "identify" : "track", ["userId"] = user, ["timestamp"] = Iso(at) };
        var bag = new JsonObject();
        for (var i = 0; i < count; i++)
        {
            bag[$"k{i}-{new string('x', 30)}"] = i;
        }
        body[what == "traits" ? "traits" : "properties"] = bag;
        if (what is "features" or "tasks")
        {
            // Many lines of one user, one name each: what fills per-user state and the population baseline.
            var lines = Enumerable.Range(0, count).Select(i => Json(new JsonObject
            {
                ["type"] = "track", ["event"] = what == "features" ? "Feature Used" : "Task Completed", ["userId"] = user, ["timestamp"] = Iso(at),
                ["properties"] = new JsonObject { ["feature"] = $"feature-{i}", ["task"] = $"task-{i}", ["durationMs"] = 1000 + i },
            }));
            return Encoding.UTF8.GetBytes(string.Join("\n", lines.Select(Encoding.UTF8.GetString)));
        }
        return Json(body);
    };

    private static byte[] Json(JsonObject body)
    {
        var text = body.ToJsonString();
        // Numbers JSON nodes cannot hold (1e400) go in as raw text.
        text = text.Replace("\"@raw:1e400\"", "1e400", StringComparison.Ordinal).Replace("\"@raw:-1e400\"", "-1e400", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text);
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static IEnumerable<byte[]> SplitLines(byte[] file) =>
        Encoding.Latin1.GetString(file).Split('\n').Where(l => l.Length > 0).Select(l => Encoding.Latin1.GetBytes(l.TrimEnd('\r')));

    /// <summary>Six users' stories over six days, each touching several default rules, merged in time order.</summary>
    private static List<(DateTimeOffset At, byte[] Line)> BuildGoodStream()
    {
        var lines = new List<(DateTimeOffset At, byte[] Line)>();
        var n = 0;
        void Track(string user, TimeSpan at, string name, JsonObject? props = null, string tz = "Europe/Berlin", string device = "desktop", JsonObject? traits = null)
        {
            var body = new JsonObject
            {
                ["type"] = "track", ["event"] = name, ["userId"] = user, ["messageId"] = $"{user}-{++n}", ["timestamp"] = Iso(Start + at),
                ["properties"] = props ?? [], ["context"] = new JsonObject { ["timezone"] = tz, ["device"] = new JsonObject { ["type"] = device } },
            };
            if (traits is not null)
            {
                body["traits"] = traits;
            }
            lines.Add((Start + at, Encoding.UTF8.GetBytes(body.ToJsonString())));
        }
        void Screen(string user, TimeSpan at, string name) =>
            lines.Add((Start + at, Encoding.UTF8.GetBytes(new JsonObject
            {
                ["type"] = "screen", ["name"] = name, ["userId"] = user, ["messageId"] = $"{user}-{++n}", ["timestamp"] = Iso(Start + at),
            }.ToJsonString())));
        static TimeSpan M(double minutes) => TimeSpan.FromMinutes(minutes);
        static TimeSpan D(double days, double minutes = 0) => TimeSpan.FromDays(days) + TimeSpan.FromMinutes(minutes);

        // good-1: a mobile newcomer in Berlin: sign-up, a long look at the welcome screen, onboarding stalled at step 3, a failing setup task.
        Track("good-1", M(0), "Signed Up", device: "mobile", traits: new JsonObject { ["name"] = "Ada", ["plan"] = "trial" });
        Screen("good-1", M(1), "Welcome");
        for (var s = 1; s <= 3; s++)
        {
            Track("good-1", M(4 + s), "Onboarding Step Viewed", new JsonObject { ["step"] = s, ["totalSteps"] = 4 }, device: "mobile");
            if (s < 3)
            {
                Track("good-1", M(4.5 + s), "Onboarding Step Completed", new JsonObject { ["step"] = s, ["totalSteps"] = 4 }, device: "mobile");
            }
        }
        for (var i = 0; i < 3; i++)
        {
            Track("good-1", M(20 + i), "Task Failed", new JsonObject { ["task"] = "notifications-setup" }, device: "mobile");
        }
        Track("good-1", M(30), "Task Completed", new JsonObject { ["task"] = "notifications-setup", ["durationMs"] = 30_000 }, device: "mobile");
        Track("good-1", M(31), "Setup Completed", new JsonObject { ["task"] = "notifications-setup" }, device: "mobile");
        Track("good-1", D(1, 60), "Onboarding Step Skipped", new JsonObject { ["step"] = 4, ["totalSteps"] = 4 }, device: "mobile");
        Track("good-1", D(1, 62), "Product Added", new JsonObject { ["cartId"] = "cart-1", ["value"] = 49.5 }, device: "mobile");

        // good-2: a desktop explorer in New York who tries every feature, leaves a cart, and goes quiet for days.
        var features = new[] { "dashboard", "reports", "automations", "integrations", "dashboard", "dashboard", "dashboard" };
        for (var i = 0; i < features.Length; i++)
        {
            Track("good-2", M(10 + 3 * i), "Feature Used", new JsonObject { ["feature"] = features[i] }, tz: "America/New_York");
        }
        Track("good-2", M(40), "Product Added", new JsonObject { ["cartId"] = "c-2" }, tz: "America/New_York");
        Track("good-2", M(42), "Configuration Skipped", new JsonObject { ["feature"] = "data-visualization" }, tz: "America/New_York");

        // good-3: an efficiency seeker in Tokyo: a run of completions builds the population's usual time, then two fast ones.
        for (var i = 0; i < 6; i++)
        {
            Track("good-3", D(0, 15 + 5 * i), "Task Completed", new JsonObject { ["task"] = "calendar-sync", ["durationMs"] = 20_000 + 500 * i }, tz: "Asia/Tokyo");
        }
        Track("good-3", D(0, 60), "Task Completed", new JsonObject { ["task"] = "calendar-sync", ["durationMs"] = 8_000 }, tz: "Asia/Tokyo");
        Track("good-3", D(0, 70), "Task Completed", new JsonObject { ["task"] = "notifications-setup", ["durationMs"] = 29_000 }, tz: "Asia/Tokyo");
        for (var i = 0; i < 5; i++)
        {
            Track("good-3", D(0, 75 + i), "Task Completed", new JsonObject { ["task"] = "notifications-setup", ["durationMs"] = 31_000 + 100 * i }, tz: "Asia/Tokyo");
        }
        Track("good-3", D(0, 90), "Task Completed", new JsonObject { ["task"] = "notifications-setup", ["durationMs"] = 9_000 }, tz: "Asia/Tokyo");
        Track("good-3", D(0, 91), "Help Center Viewed", new JsonObject { ["article"] = "sync" }, tz: "Asia/Tokyo");
        Track("good-3", D(0, 95), "Help Center Exited", new JsonObject { ["article"] = "sync" }, tz: "Asia/Tokyo");
        Track("good-3", D(0, 96), "Intervention Clicked", new JsonObject { ["ruleId"] = "faster-than-usual", ["interventionId"] = "x" }, tz: "Asia/Tokyo");

        // good-4: active every day in UTC (a streak), with forms and shares.
        for (var day = 0; day < 6; day++)
        {
            Track("good-4", D(day, 120), "Feature Used", new JsonObject { ["feature"] = day % 2 == 0 ? "reports" : "dashboard" }, tz: "UTC");
            Track("good-4", D(day, 125), "Email Opened", tz: "UTC");
        }
        Track("good-4", D(0, 130), "Form Field Abandoned", new JsonObject { ["form"] = "signup", ["field"] = "Company Description" }, tz: "UTC");
        Track("good-4", D(1, 130), "Form Completed", new JsonObject { ["nextStep"] = "invite your team" }, tz: "UTC");
        Track("good-4", D(2, 130), "Content Shared", new JsonObject { ["contentId"] = "r-1" }, tz: "UTC");

        // good-5: finished onboarding, sessions of falling length, then idle in a session.
        Track("good-5", M(5), "Onboarding Completed", tz: "Europe/London");
        for (var day = 0; day < 4; day++)
        {
            var length = 20 - 3 * day;
            Track("good-5", D(day, 200), "Feature Used", new JsonObject { ["feature"] = "automations" }, tz: "Europe/London");
            Track("good-5", D(day, 200 + length), "Feature Used", new JsonObject { ["feature"] = "automations" }, tz: "Europe/London");
        }

        // good-6: the flat export shape and page views, no time zone.
        for (var i = 0; i < 4; i++)
        {
            lines.Add((Start + M(50 + i), Encoding.UTF8.GetBytes(
                $"{{\"event\":\"feature_used\",\"user_id\":\"good-6\",\"messageId\":\"good-6-{++n}\",\"timestamp\":\"{Iso(Start + M(50 + i))}\",\"feature_used\":\"integrations\",\"device\":\"ios\"}}")));
        }
        lines.Add((Start + M(60), Encoding.UTF8.GetBytes($"{{\"type\":\"page\",\"name\":\"Pricing\",\"userId\":\"good-6\",\"messageId\":\"good-6-{++n}\",\"timestamp\":\"{Iso(Start + M(60))}\"}}")));
        Track("good-6", D(3, 0), "Feature Used", new JsonObject { ["feature"] = "integrations" }, tz: "Australia/Sydney");

        return [.. lines.OrderBy(l => l.At)]; // stable: same-time lines keep their order
    }

    /// <summary>Which part of the corpus or which hostile shape an attack comes from.</summary>
    public enum AttackKind
    {
        Seed,
        RandomJson,
        RandomBytes,
        TimeZone,
        AbsurdNumber,
        FutureTimestamp,
        InvalidUtf8,
        DeepNesting,
        Volume,
        Markup,
        DuplicateMessageId,
    }

    internal sealed record Attack(AttackKind Kind, int After, Func<DateTimeOffset, byte[]> Line)
    {
        public override string ToString() =>
            $"{Kind} after good line {After % (GoodStream.Count + 1)}: {Shorten(Encoding.UTF8.GetString(Line(Start)))}";

        private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
    }

    internal sealed record UserOutcome(List<string> Commands, List<string> Decisions, string State)
    {
        public bool Equals(UserOutcome? other) =>
            other is not null && Commands.SequenceEqual(other.Commands) && Decisions.SequenceEqual(other.Decisions) && State == other.State;

        public override int GetHashCode() => State.GetHashCode(StringComparison.Ordinal);
    }

    internal sealed record Outcome(Dictionary<string, UserOutcome> Users)
    {
        public bool Equals(Outcome? other) =>
            other is not null && Users.Count == other.Users.Count && Users.All(kv => other.Users.TryGetValue(kv.Key, out var o) && kv.Value.Equals(o));

        public override int GetHashCode() => Users.Count;
    }
}
