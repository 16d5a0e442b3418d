using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using NodaTime;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// One user's events at local wall-clock times in a chosen time zone, through <see cref="OfflineSimulation"/> (what
/// <c>simulate</c> runs): for tests about local hours, calendar days and daylight-saving changes.
/// </summary>
internal sealed class LocalStory(string rules, string zone = "Europe/Berlin")
{
    private readonly OfflineSimulation _sim = new(RuleSetLoader.Load(rules));
    private long _line;

    public OfflineSimulation Simulation => _sim;

    /// <summary>The instant of a local wall-clock time in the story's zone (a time in a gap moves forward, as clocks do).</summary>
    public DateTimeOffset At(int year, int month, int day, int hour, int minute = 0) =>
        DateTimeZoneProviders.Tzdb[zone].AtLeniently(new LocalDateTime(year, month, day, hour, minute)).ToDateTimeOffset().ToUniversalTime();

    public LocalStory Track(string name, DateTimeOffset at, string user = "u1")
    {
        var body = JsonSerializer.Serialize(new
        {
            type = "track", @event = name, userId = user, messageId = $"{user}-{++_line}", timestamp = at.ToString("O"),
            context = new { timezone = zone },
        });
        var result = _sim.Feed(body, _line);
        Assert.True(result.IsValid, result.Error);
        return this;
    }

    public LocalStory Track(string name, int year, int month, int day, int hour, int minute = 0) => Track(name, At(year, month, day, hour, minute));

    public List<InterventionCommand> Of(string ruleId) => _sim.Interventions.Where(c => c.RuleId == ruleId).ToList();

    public List<Decision> DecisionsOf(string ruleId) => _sim.Decisions.Where(d => d.RuleId == ruleId).ToList();
}
