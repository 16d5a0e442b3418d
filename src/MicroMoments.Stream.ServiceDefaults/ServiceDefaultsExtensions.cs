using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MicroMoments.Stream.ServiceDefaults;

/// <summary>OpenTelemetry (traces, metrics, logs) and health checks, configured the same way for every host.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Every ActivitySource and Meter of the service starts with this.</summary>
    public const string TelemetryPrefix = "MicroMoments.Stream";

    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                serviceName: builder.Configuration["OTEL_SERVICE_NAME"] ?? "micromoments-stream",
                serviceVersion: typeof(ServiceDefaultsExtensions).Assembly.GetName().Version?.ToString()))
            .WithTracing(t => t.AddSource(TelemetryPrefix + ".*"))
            .WithMetrics(m => m.AddMeter(TelemetryPrefix + ".*").AddRuntimeInstrumentation());

        // The OTLP exporter is on when the standard OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/configuration.md).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>
    /// <c>/healthz/live</c>: the process answers (no checks). <c>/healthz/ready</c>: every check tagged
    /// <c>ready</c> passes (degraded counts as ready; unhealthy answers 503). The body is the status, then why:
    /// <c>Unhealthy: Redis authentication failed: consumption is paused</c>.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = (context, report) =>
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
                var why = report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy && e.Description is not null).Select(e => e.Description);
                return context.Response.WriteAsync(string.Join(": ", [report.Status.ToString(), .. why]));
            },
        });
        return app;
    }
}
