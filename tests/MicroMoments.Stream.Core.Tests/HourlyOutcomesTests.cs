using MicroMoments.Stream.Core.Analytics;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>The console's 48-hour chart data: batches' counters by the hour they were decided in, then per rule and series.</summary>
public sealed class HourlyOutcomesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 14, 30, 0, TimeSpan.Zero);

    private static Dictionary<string, Dictionary<string, long>> Batch(params (string Rule, string Field, long N)[] counts) =>
        counts.GroupBy(c => c.Rule).ToDictionary(g => g.Key, g => g.ToDictionary(c => c.Field, c => c.N));

    [Fact]
    public void Observe_BatchCounters_GroupedBySeriesAndHour()
    {
        var hourly = new HourlyOutcomes();
        hourly.Observe(Batch(("cart", "control|matched", 3), ("cart", "control|emitted", 1), ("cart", "b|deferred", 1),
            ("cart", "control|suppressed.cooldown", 1), ("cart", "control|cancelled", 1), ("cart", "control|clicked", 5), ("", "2026-12-07|signed_up", 2)), Now);
        hourly.Observe(Batch(("cart", "control|matched", 1)), Now.AddHours(1));

        var pending = hourly.TakePending();

        Assert.Equal(new Dictionary<string, long> { ["cart|matched"] = 3, ["cart|sent"] = 2, ["cart|suppressed"] = 1, ["cart|cancelled"] = 1 }, pending["2026120714"]);
        Assert.Equal(new Dictionary<string, long> { ["cart|matched"] = 1 }, pending["2026120715"]);
        Assert.Empty(hourly.TakePending());
    }

    [Fact]
    public void Chart_48HoursEndingNow_OldestFirst_OlderHoursLeftOut()
    {
        var byHour = new Dictionary<string, Dictionary<string, long>>
        {
            ["2026120714"] = new() { ["cart|matched"] = 4, ["cart|sent"] = 2 },
            ["2026120515"] = new() { ["cart|matched"] = 1 },   // 47 hours before: the first hour
            ["2026120514"] = new() { ["cart|matched"] = 100 }, // 48 hours before: outside
            ["2026120713"] = new() { ["cart|unknown"] = 9 },
        };

        var chart = HourlyOutcomes.Chart(byHour, Now)["cart"];

        Assert.Equal(4, chart.Length);
        Assert.All(chart, s => Assert.Equal(HourlyOutcomes.Hours, s.Length));
        Assert.Equal((1, 4, 5), (chart[0][0], chart[0][^1], chart[0].Sum()));
        Assert.Equal(2, chart[1][^1]);
        Assert.Equal(0, chart[2].Sum() + chart[3].Sum());
    }
}
