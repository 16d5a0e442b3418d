using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>A user's story fed through <see cref="OfflineSimulation"/>, the core that <c>simulate</c> runs.</summary>
internal sealed class Scenario(RuleSet? rules = null)
{
    public static readonly RuleSet Defaults = RuleSetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Rules", "default.rules.yaml"));

    /// <summary>Tuesday 10:00 UTC = 11:00 in Europe/Berlin, the test users' time zone.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private readonly OfflineSimulation _sim = new(rules ?? Defaults);
    private long _line;

    public OfflineSimulation Simulation => _sim;

    public Scenario Track(string name, TimeSpan at, object? properties = null, string user = "u1", string device = "desktop", object? traits = null) =>
        Feed(new
        {
            type = "track", @event = name, userId = user, messageId = $"{user}-{++_line}", timestamp = (T0 + at).ToString("O"),
            properties = properties ?? new { }, traits = traits ?? new { },
            context = new { device = new { type = device }, timezone = "Europe/Berlin" },
        });

    public Scenario Screen(string name, TimeSpan at, string user = "u1") =>
        Feed(new
        {
            type = "screen", name, userId = user, messageId = $"{user}-{++_line}", timestamp = (T0 + at).ToString("O"),
            context = new { timezone = "Europe/Berlin" },
        });

    public Scenario Page(string name, TimeSpan at, string user = "u1") =>
        Feed(new
        {
            type = "page", name, userId = user, messageId = $"{user}-{++_line}", timestamp = (T0 + at).ToString("O"),
            context = new { timezone = "Europe/Berlin" },
        });

    /// <summary>Feeds an event body as given, numbered and stamped like the others (its own <c>context</c> and all).</summary>
    public Scenario Raw(Func<string, DateTimeOffset, object> body, TimeSpan at, string user = "u1") =>
        Feed(body($"{user}-{++_line}", T0 + at));

    public Scenario Advance(TimeSpan to)
    {
        _sim.AdvanceTo(T0 + to);
        return this;
    }

    public List<InterventionCommand> Of(string ruleId) => _sim.Interventions.Where(c => c.RuleId == ruleId).ToList();

    public List<Decision> DecisionsOf(string ruleId) => _sim.Decisions.Where(d => d.RuleId == ruleId).ToList();

    private Scenario Feed(object body)
    {
        var result = _sim.Feed(JsonSerializer.Serialize(body), _line);
        Assert.True(result.IsValid, result.Error);
        return this;
    }
}
