using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.IntegrationTests;

/// <summary>What can be checked of the deployment material without a Docker engine or a cluster.</summary>
public sealed partial class DeploymentConfigTests
{
    internal static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MicroMoments.Stream.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static YamlMappingNode Yaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Root, path))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    [Fact]
    public void ComposeFile_ParsesAndNamesEveryService()
    {
        var services = (YamlMappingNode)Yaml("docker-compose.yml").Children[new YamlScalarNode("services")];

        var names = services.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();

        Assert.Superset(names!, new HashSet<string?> { "kafka", "redis", "otel-collector", "prometheus", "grafana", "worker", "loadgen" });
    }

    [Fact]
    public void GrafanaDashboard_QueriesOnlyMetricsTheWorkerExports()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy/grafana/dashboards/micromoments.json")));
        var queried = MetricName().Matches(doc.RootElement.GetRawText()).Select(m => Suffix().Replace(m.Value, "")).ToHashSet();

        var exported = ExportedPrometheusNames();

        Assert.NotEmpty(queried);
        Assert.Empty(queried.Except(exported));
    }

    [Fact]
    public void Kustomize_BaseAndHpaOverlayBuild()
    {
        foreach (var dir in new[] { "deploy/k8s", "deploy/k8s/overlays/hpa" })
        {
            if (File.Exists("/usr/bin/kubectl") || File.Exists("/usr/local/bin/kubectl"))
            {
                using var p = Process.Start(new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(Root, dir)]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
                var output = p.StandardOutput.ReadToEnd();
                var error = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, error);
                Assert.Contains("kind: Deployment", output, StringComparison.Ordinal);
            }
            else
            {
                // No kubectl: at least every manifest parses.
                foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, dir), "*.yaml", SearchOption.AllDirectories))
                {
                    new YamlStream().Load(new StringReader(File.ReadAllText(file)));
                }
            }
        }
    }

    [Fact]
    public void KubernetesRulesCopy_IsTheBundledRulesFile() =>
        Assert.Equal(File.ReadAllText(Path.Combine(Root, "src/MicroMoments.Stream.Worker/Rules/default.rules.yaml")),
            File.ReadAllText(Path.Combine(Root, "deploy/k8s/rules/default.rules.yaml")));

    /// <summary>The worker's instruments, named as the collector's Prometheus exporter names them.</summary>
    private static HashSet<string> ExportedPrometheusNames()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, _) =>
            {
                if (i.Meter.Name.StartsWith("MicroMoments.Stream", StringComparison.Ordinal))
                {
                    names.Add(i.Name.Replace('.', '_') + (i.Unit == "s" ? "_seconds" : ""));
                }
            },
        };
        listener.Start();
        var engines = new RuleEngineProvider(Options.Create(new RulesOptions()), Options.Create(new PipelineOptions()), Options.Create(new StateOptions()));
        _ = new PipelineTelemetry(meters, engines);
        _ = new RedisTelemetry(meters);
        return names;
    }

    [GeneratedRegex("micromoments_stream_[a-z_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(total|bucket|sum|count)$")]
    private static partial Regex Suffix();
}
