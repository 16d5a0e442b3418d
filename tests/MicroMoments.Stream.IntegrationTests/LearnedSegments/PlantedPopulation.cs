using MicroMoments.Stream.Core.Tests.LearnedSegments;

namespace MicroMoments.Stream.IntegrationTests.LearnedSegments;

/// <summary>
/// A generated clickstream with three planted behaviour groups over four weeks (seeded, so the same every run): engagers
/// (active most days, many features, few failures), lapsed users (a few days in the first week, then nothing) and strugglers
/// (recent sign-ups whose tasks mostly fail). A user's group is the first letter of their id: e, l or s.
/// </summary>
internal static class PlantedPopulation
{
    public static readonly DateTimeOffset Start = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    public const int Days = 28;

    private static readonly string[] Features = ["dashboard", "reports", "automations", "integrations", "api-keys", "calendar"];

    public static List<string> Lines(int perGroup = 40, int seed = 7)
    {
        var random = new Random(seed);
        var events = new List<(DateTimeOffset At, string User, string Line)>();
        for (var i = 0; i < perGroup; i++)
        {
            // Engagers: 18 to 24 of the 28 days (always the last), 12 to 18 events a day over 4 to 5 features, 5 % failures.
            var engager = $"e-{i:00}";
            var days = Enumerable.Range(0, Days - 1).OrderBy(_ => random.Next()).Take(random.Next(17, 24)).Append(Days - 1);
            foreach (var day in days)
            {
                Day(events, random, engager, day, random.Next(12, 19), Features[..random.Next(4, 6)], taskShare: 0.35, failShare: 0.05);
            }
            // Lapsed: 2 to 4 days in the first week, 4 to 7 events a day, one feature, tasks that work.
            var lapsed = $"l-{i:00}";
            foreach (var day in Enumerable.Range(0, 7).OrderBy(_ => random.Next()).Take(random.Next(2, 5)))
            {
                Day(events, random, lapsed, day, random.Next(4, 8), Features[..1], taskShare: 0.5, failShare: 0);
            }
            // Strugglers: signed up in the last 12 days, active 4 to 6 of them, 6 to 10 events a day, 80 % of tasks failing.
            var struggling = $"s-{i:00}";
            foreach (var day in Enumerable.Range(Days - 12, 12).OrderBy(_ => random.Next()).Take(random.Next(4, 7)))
            {
                Day(events, random, struggling, day, random.Next(6, 11), Features[..2], taskShare: 0.8, failShare: 0.8);
            }
        }
        return [.. events.OrderBy(e => e.At).ThenBy(e => e.User, StringComparer.Ordinal).Select(e => e.Line)];
    }

    /// <summary>One session on <paramref name="day"/>: events one to three minutes apart, from a random hour.</summary>
    private static void Day(List<(DateTimeOffset, string, string)> events, Random random, string user, int day, int count, string[] features,
        double taskShare, double failShare)
    {
        var at = Start.AddDays(day).AddHours(random.Next(7, 19)).AddMinutes(random.Next(60));
        for (var n = 0; n < count; n++)
        {
            at = at.AddMinutes(random.Next(1, 4));
            var line = random.NextDouble() < taskShare
                ? Track(user, random.NextDouble() < failShare ? "Task Failed" : "Task Completed", at, new { task = "import" })
                : Track(user, "Feature Used", at, new { feature = features[random.Next(features.Length)] });
            events.Add((at, user, line));
        }
    }

    public static string Track(string user, string name, DateTimeOffset at, object? properties = null) => SegmentLines.Track(user, name, at, properties);

    /// <summary>The adjusted Rand index of two labellings of the same items (1: the same partition; about 0: chance).</summary>
    public static double AdjustedRandIndex(IReadOnlyList<string> truth, IReadOnlyList<string> found)
    {
        static double Pairs(double n) => n * (n - 1) / 2;
        var cells = truth.Zip(found).GroupBy(x => x).Select(g => Pairs(g.Count())).Sum();
        var rows = truth.GroupBy(x => x).Select(g => Pairs(g.Count())).Sum();
        var columns = found.GroupBy(x => x).Select(g => Pairs(g.Count())).Sum();
        var expected = rows * columns / Pairs(truth.Count);
        var max = (rows + columns) / 2;
        return (cells - expected) / (max - expected);
    }
}
