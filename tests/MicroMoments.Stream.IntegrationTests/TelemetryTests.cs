using System.Diagnostics;
using System.Net;
using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.IntegrationTests.Infrastructure;
using MicroMoments.Stream.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using static MicroMoments.Stream.IntegrationTests.TestEvents;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>Traces, metrics and health of the real worker, through in-process OpenTelemetry exporters.</summary>
[Collection(InfraCollection.Name)]
public sealed class TelemetryTests(KafkaFixture kafka, RedisFixture redis)
{
    private readonly FakeTimeProvider _clock = new(T0);

    [Fact]
    public async Task InboundTraceparent_LinksToTheIntervention_MetricsRecorded_HealthEndpointsAnswer()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var streams = await TestStreams.CreateAsync(kafka);
        using var output = streams.Read(streams.Output);
        await using var worker = await WorkerHarness.StartAsync(streams, redis, _clock, configure: b =>
        {
            b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));
            b.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(metrics));
        });
        // A trace of its own: the tracer listens to every "MicroMoments.Stream.*" source in the process, and tests outside this
        // collection (the outbound builder's) start "publish intervention" spans at the same time.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        bool IsPublish(Activity s) => s.DisplayName == "publish intervention" && s.TraceId.ToHexString() == traceId;
        var inbound = new Headers { { "traceparent", Encoding.UTF8.GetBytes($"00-{traceId}-b7ad6b7169203331-01") } };

        for (var i = 0; i < 3; i++)
        {
            await streams.ProduceAsync("u-t", Track("u-t", "Task Failed", T0.AddSeconds(i), new { task = "a" }), inbound);
        }
        await streams.ProduceAsync("u-t", "{broken");
        var record = Assert.Single(await output.WaitForAsync(1));

        // Traces: the intervention's span is a child of the publishing app's trace, and its id is the outbound traceparent.
        var outbound = DeadLetters.Header(record.Message.Headers, "traceparent")!;
        await Eventually.TrueAsync(() =>
        {
            // The batch span ends after the batch's Redis write, which may be after the intervention arrived.
            worker.Host.Services.GetRequiredService<TracerProvider>().ForceFlush();
            lock (spans)
            {
                return spans.Any(s => s.DisplayName == "process clickstream batch") && spans.Any(IsPublish);
            }
        }, TimeSpan.FromSeconds(30), "batch and publish spans exported");
        var publish = Assert.Single(spans, IsPublish);
        Assert.Equal($"00-{traceId}-{publish.SpanId.ToHexString()}-01", outbound);

        // Metrics: the pipeline's and Redis's instruments report.
        try
        {
            await Eventually.TrueAsync(() =>
            {
                metrics.Clear();
                worker.Host.Services.GetRequiredService<MeterProvider>().ForceFlush();
                return Names(metrics).IsSupersetOf(["micromoments.stream.dead_letters", "micromoments.stream.consumer.lag", "micromoments.stream.timers.pending"]);
            }, TimeSpan.FromSeconds(30), "all instruments reported");
        }
        catch (TimeoutException)
        {
            Assert.Fail("reported: " + string.Join(", ", Names(metrics).Order()));
        }
        foreach (var name in new[]
        {
            "micromoments.stream.events.consumed", "micromoments.stream.interventions", "micromoments.stream.decisions",
            "micromoments.stream.dead_letters", "micromoments.stream.processing.latency", "micromoments.stream.batch.duration",
            "micromoments.stream.redis.duration", "micromoments.stream.rule.outcomes", "micromoments.stream.rules.version",
        })
        {
            Assert.True(Total(metrics, name) > 0, $"{name} has a non-zero value");
        }

        // Health: live always; ready once the consumer joined and Redis answers.
        Assert.Equal(HttpStatusCode.OK, await worker.GetStatusAsync("/healthz/live"));
        Assert.Equal(HttpStatusCode.OK, await worker.GetStatusAsync("/healthz/ready"));
    }

    private static HashSet<string> Names(List<Metric> metrics) => metrics.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);

    private static double Total(List<Metric> metrics, string name)
    {
        double total = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                total += metric.MetricType switch
                {
                    MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong(),
                    MetricType.DoubleSum => point.GetSumDouble(),
                    MetricType.LongGauge => point.GetGaugeLastValueLong(),
                    MetricType.DoubleGauge => point.GetGaugeLastValueDouble(),
                    MetricType.Histogram => point.GetHistogramCount(),
                    _ => 0,
                };
            }
        }
        return total;
    }
}
