namespace MicroMoments.Stream.Core.Interventions;

/// <summary>The <c>data</c> of an intervention CloudEvent (docs/wire-formats.md, "Intervention commands"); property order is the wire order.</summary>
public sealed record InterventionCommand
{
    public required string InterventionId { get; init; }
    public required string UserId { get; init; }
    public required string RuleId { get; init; }
    public required string RuleVersion { get; init; }
    public required string Moment { get; init; }
    public required string Channel { get; init; }
    public required int Priority { get; init; }
    public required InterventionMessage Message { get; init; }
    public string Variant { get; init; } = "control";
    public string? Experiment { get; init; }
    public required DateTimeOffset DeliverAfter { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required TriggerInfo Trigger { get; init; }
    public required UserSummary User { get; init; }

    /// <summary>The intent the nudge serves (know, go, do, buy): the rule's, or else derived from the triggering events. Never null.</summary>
    public required string Intent { get; init; }

    /// <summary>When the worker decided (the CloudEvent <c>time</c>); not part of <c>data</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset DecidedAt { get; init; }
}

/// <summary>The rendered message.</summary>
public sealed record InterventionMessage(string Title, string Body, MessageAction? Action);

/// <summary>The message's call to action.</summary>
public sealed record MessageAction(string Label, string? Url);

/// <summary>What caused the intervention: the trigger kind, the events involved and kind-specific details.</summary>
public sealed record TriggerInfo(string Kind, IReadOnlyList<string> EventIds, IReadOnlyDictionary<string, object> Details);

/// <summary>The user context delivery services may use to render or route.</summary>
public sealed record UserSummary(string LifecycleStage, string Archetype, string? Device, string? Timezone, string? Segment = null);
