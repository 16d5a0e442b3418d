using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules.Where;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules.Triggers;

/// <summary>
/// <c>kind: threshold</c>: a derived metric (<see cref="Metrics"/>) enters the range (<see cref="Above"/>, <see cref="Below"/>)
/// and [<see cref="AtLeast"/>, <see cref="AtMost"/>], checked on <see cref="TriggerSpec.Event"/> or on every event.
/// </summary>
public sealed class ThresholdTrigger : MetricTrigger
{
    internal static readonly TriggerKindInfo Descriptor =
        new(TriggerKind.Threshold, ["kind", "event", "where", "metric", "above", "below", "atLeast", "atMost"], firesOnTimer: false, Parse);

    private ThresholdTrigger() : base(Descriptor)
    {
    }

    public double? Above { get; private init; }
    public double? Below { get; private init; }
    public double? AtLeast { get; private init; }
    public double? AtMost { get; private init; }

    private static ThresholdTrigger Parse(NodeReader r, YamlMappingNode t, string id, string kindText)
    {
        var evt = ReadEvent(r, t);
        if (!Metrics.IsKnown(r.String(t, "metric")))
        {
            r.Error(t, $"rule '{id}': a threshold trigger needs a 'metric', one of {string.Join(", ", Metrics.Names)}");
        }
        else if (r.Child(t, "above") is null && r.Child(t, "below") is null && r.Child(t, "atLeast") is null && r.Child(t, "atMost") is null)
        {
            r.Error(t, $"rule '{id}': a threshold trigger needs at least one of above, below, atLeast, atMost");
        }
        return new ThresholdTrigger
        {
            Event = evt, Where = WhereReader.Read(r, t, id), Metric = r.String(t, "metric"),
            Above = r.Double(t, "above"), Below = r.Double(t, "below"), AtLeast = r.Double(t, "atLeast"), AtMost = r.Double(t, "atMost"),
        };
    }

    public bool InRange(double? value) =>
        value is { } v && (Above is null || v > Above) && (Below is null || v < Below)
        && (AtLeast is null || v >= AtLeast) && (AtMost is null || v <= AtMost);

    /// <summary>Fires when the metric enters the range: it is in it after the event and was not at the user's previous event.</summary>
    private protected override bool Holds(double? value) => InRange(value);

    private protected override string CandidateKind => "threshold";

    /// <summary>
    /// The metrics that only grow (a feature's uses, features used, the onboarding step) cross a line once: the crossing,
    /// named by the metric, the feature and the value, is the same whichever event arrived with it. The others keep the
    /// event's id (docs/rules.md, "Allowed lateness").
    /// </summary>
    private protected override string? CanonicalKey(ref TriggerEvent on)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return Metric switch
        {
            "featureUses" when on.Event.Property("feature") is { } feature =>
                $"featureUses|{feature}|{Metrics.Read(Metric, on.State, on.Event, on.Observation, on.Event.Timestamp)?.ToString(inv)}",
            "featuresUsed" or "onboardingStep" => $"{Metric}|{Metrics.Read(Metric, on.State, on.Event, on.Observation, on.Event.Timestamp)?.ToString(inv)}",
            _ => null,
        };
    }
}
