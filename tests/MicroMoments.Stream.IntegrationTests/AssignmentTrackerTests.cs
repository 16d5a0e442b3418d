using System.Diagnostics.Metrics;
using MicroMoments.Stream.Core.Pipeline;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>The worker's side of a rebalance (no broker needed): ownership, the cache, readiness and the timer check follow.</summary>
public sealed class AssignmentTrackerTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly UserStateCache _cache = new(1000);
    private readonly PipelineHealth _health = new();
    private readonly ShardOwnership _ownership = new(store: null!, recovery: null!, NullLogger<ShardOwnership>.Instance); // no epoch is acquired here
    private readonly TimerCheckSchedule _timerChecks;
    private readonly AssignmentTracker _tracker;

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => default;
        public CancellationToken ApplicationStopping => default;
        public CancellationToken ApplicationStopped => default;
        public bool StopRequested { get; private set; }
        public void StopApplication() => StopRequested = true;
    }

    private readonly Lifetime _lifetime = new();

    public AssignmentTrackerTests()
    {
        _timerChecks = new TimerCheckSchedule(_clock, TimeSpan.FromSeconds(1));
        var engines = new RuleEngineProvider(Options.Create(new RulesOptions()), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()));
        var telemetry = new PipelineTelemetry(_services.GetRequiredService<IMeterFactory>(), engines);
        _tracker = new AssignmentTracker(_ownership, _cache, _timerChecks, _health, telemetry, _lifetime);
    }

    [Fact]
    public void Assigned_TwoPartitions_OwnedJoinedAndTimersCheckedAtOnce()
    {
        _timerChecks.Finish(_timerChecks.Start(), more: false);
        Assert.False(_timerChecks.IsDue);

        _tracker.Assigned([("in", 0), ("in", 1)]);

        Assert.True(_ownership.Owns("in:0") && _ownership.Owns("in:1"));
        Assert.True(_ownership.NeedsEpoch("in:0"));
        Assert.Equal((true, 2), (_health.Joined, _health.Partitions));
        Assert.True(_timerChecks.IsDue);
    }

    [Fact]
    public void Released_OnePartition_NotOwnedAndItsUsersDropped()
    {
        _tracker.Assigned([("in", 0), ("in", 1)]);
        _cache.Set("in:0", new UserState { UserId = "a" });
        _cache.Set("in:1", new UserState { UserId = "b" });

        _tracker.Released([("in", 0)]);

        Assert.False(_ownership.Owns("in:0"));
        Assert.False(_cache.TryGet("in:0", "a", out _));
        Assert.True(_cache.TryGet("in:1", "b", out _));
        Assert.Equal(1, _health.Partitions);
    }

    [Fact]
    public void KafkaError_BrokersDownNotFatal_ReadinessSaysWhyWorkerGoesOn()
    {
        _tracker.KafkaError("all brokers down", fatal: false);

        Assert.Equal("all brokers down", _health.KafkaDown);
        Assert.False(_lifetime.StopRequested); // a fatal error would also set the process's exit code: not done in a test process
    }

    public void Dispose() => _services.Dispose();
}
