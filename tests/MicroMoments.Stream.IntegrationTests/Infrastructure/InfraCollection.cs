namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>Tests that share one broker and one Redis; each test still uses its own topics, group and key prefix.</summary>
[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<RedisFixture>
{
    public const string Name = "kafka+redis";
}
