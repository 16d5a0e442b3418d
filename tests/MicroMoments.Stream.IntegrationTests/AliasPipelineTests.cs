using Microsoft.Extensions.Configuration;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Segment's alias call in the live worker: the anonymous user's state, on its own partition, merges into the identified user's.</summary>
[Collection(InfraCollection.Name)]
public sealed class AliasPipelineTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    private static string Failure(string idField, string user, DateTimeOffset at) =>
        $$$"""{"type":"track","event":"Task Failed","{{{idField}}}":"{{{user}}}","messageId":"{{{Guid.NewGuid()}}}","timestamp":"{{{at:O}}}","properties":{"task":"calendar-sync"}}""";

    /// <summary>What <c>explain</c> needs to read this test's keys from this test's Redis.</summary>
    private IConfiguration ExplainConfiguration(TestStreams streams) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MicroMoments:Redis:Configuration"] = redis.Configuration,
            ["MicroMoments:Redis:KeyPrefix"] = streams.KeyPrefix,
        }).Build();

    [Fact]
    public async Task Alias_AnonymousFailuresThenSignUp_CountTriggerSeesBothHistories()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        using var output = streams.Read(streams.Output);
        var config = ExplainConfiguration(streams);

        await streams.ProduceAsync("anon-7", Failure("anonymousId", "anon-7", T0.AddSeconds(-60)));
        await streams.ProduceAsync("anon-7", Failure("anonymousId", "anon-7", T0.AddSeconds(-50)));
        // The anonymous user's state is saved (and indexed) before the alias, which may be on another partition.
        await Eventually.TrueAsync(async () =>
            await Worker.ExplainCommand.RunAsync(["--user", "anon-7"], config, TextWriter.Null, TextWriter.Null, _clock) == 0,
            TimeSpan.FromSeconds(30), "the anonymous user's state is in Redis");
        await streams.ProduceAsync("u-alias", $$$"""{"type":"alias","userId":"u-alias","previousId":"anon-7","messageId":"{{{Guid.NewGuid()}}}","timestamp":"{{{T0.AddSeconds(-40):O}}}"}""");
        await streams.ProduceAsync("u-alias", Failure("userId", "u-alias", T0.AddSeconds(-30)));

        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal(("u-alias", "setup-task-failing"), (command.UserId, command.RuleId));
        Assert.Equal(3, command.Trigger.EventIds.Count);
    }

    [Fact]
    public async Task Alias_PreviousIdIdentified_NothingMerged()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock);
        using var output = streams.Read(streams.Output);
        var config = ExplainConfiguration(streams);
        async Task<bool> Saved(string user) => await Worker.ExplainCommand.RunAsync(["--user", user], config, TextWriter.Null, TextWriter.Null, _clock) == 0;

        await streams.ProduceAsync("u-known", Failure("userId", "u-known", T0.AddSeconds(-60)));
        await streams.ProduceAsync("u-known", Failure("userId", "u-known", T0.AddSeconds(-50)));
        await Eventually.TrueAsync(() => Saved("u-known"), TimeSpan.FromSeconds(30), "the identified user's state is in Redis");
        // Anyone's alias naming an identified user as previousId: accepted, merges nothing.
        await streams.ProduceAsync("u-atk", $$$"""{"type":"alias","userId":"u-atk","previousId":"u-known","messageId":"{{{Guid.NewGuid()}}}","timestamp":"{{{T0.AddSeconds(-40):O}}}"}""");
        await streams.ProduceAsync("u-atk", Failure("userId", "u-atk", T0.AddSeconds(-30)));
        await Eventually.TrueAsync(() => Saved("u-atk"), TimeSpan.FromSeconds(30), "the alias and the attacker's failure are applied");
        await streams.ProduceAsync("u-known", Failure("userId", "u-known", T0.AddSeconds(-20)));

        // Merged, the attacker's failure would have fired with the victim's two, and the victim's third found nothing.
        var command = InterventionCloudEvents.Decode(Assert.Single(await output.WaitForAsync(1)).Message.Value);
        Assert.Equal(("u-known", "setup-task-failing"), (command.UserId, command.RuleId));
        Assert.Equal(3, command.Trigger.EventIds.Count);
    }
}
