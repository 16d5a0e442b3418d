using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Worker;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The warm-up batch a worker runs before it joins its group, against the real redis-server.</summary>
[Collection(InfraCollection.Name)]
public sealed class PipelineWarmUpTests(KafkaFixture kafka, RedisFixture redis)
{
    [Fact]
    public async Task RunAsync_BeforeJoining_WritesNothingAndLeavesSharedStateAlone()
    {
        using var streams = await TestStreams.CreateAsync(kafka);
        var config = streams.WorkerConfiguration(redis.Configuration);
        var (host, infrastructure) = WorkerCommands.BuildWorker([], b => b.Configuration.AddInMemoryCollection(config));
        infrastructure.Dispose();
        using (host)
        {
            var warmUp = host.Services.GetRequiredService<PipelineWarmUp>();
            var stages = host.Services.GetRequiredService<PipelineStages>();
            var engines = host.Services.GetRequiredService<RuleEngineProvider>();

            var (_, decisions) = await warmUp.RunAsync(CancellationToken.None);

            Assert.True(decisions > 0, "the warm-up batch reached no rule"); // three failed tasks match setup-task-failing
            var keys = new List<string>();
            foreach (var server in redis.Connection.GetServers().Where(s => !s.IsReplica))
            {
                await foreach (var key in server.KeysAsync(pattern: streams.KeyPrefix + "*"))
                {
                    keys.Add(key.ToString());
                }
            }
            Assert.Empty(keys); // the save was refused by its epoch, and the loads and reads write nothing
            Assert.False(stages.Cache.TryFind("warm-up-0", out _, out _));
            Assert.Equal(0, engines.Population.TaskCount); // its failed tasks went to a detached engine's statistics
        }
    }
}
