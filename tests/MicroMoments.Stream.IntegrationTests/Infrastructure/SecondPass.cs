namespace MicroMoments.Stream.IntegrationTests.Infrastructure;

/// <summary>
/// tests/run.sh runs the integration suite twice: on one Redis, then on a local Redis Cluster. A test marked
/// <c>[Trait(SecondPass.Trait, SecondPass.SingleRedisOnly)]</c> runs in the first pass only, because the cluster
/// pass would run it exactly the same way (it starts its own cluster anyway) or because its subject is not Redis
/// (a process, a file, a page). Each mark says why beside it.
/// </summary>
public static class SecondPass
{
    public const string Trait = "SecondPass";
    public const string SingleRedisOnly = "SingleRedisOnly";
}
