using System.Text.Json.Serialization;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// A candidate blocked by a count limit (a cap, progressive disclosure), a lower-priority collision or a rate limit: decided,
/// rendered and waiting unproduced in the user's schedule (<see cref="UserState.Waiting"/>) until its <see cref="Slot"/>, when the
/// user's timer checks it again (docs/rules.md, "Deferral"). It keeps what producing the command then needs, so the command is the
/// one a direct decision would have produced, message rendered when it was proposed. One on a rate-limited channel whose slot
/// has come first waits for a minute from the ledger (<see cref="Awaiting"/>), within the batch.
/// </summary>
public sealed class WaitingDelivery
{
    [JsonPropertyName("id")] public string InterventionId { get; set; } = "";
    [JsonPropertyName("r")] public string RuleId { get; set; } = "";
    [JsonPropertyName("c")] public string Channel { get; set; } = "";
    [JsonPropertyName("p")] public int Priority { get; set; }

    /// <summary>When it is next checked, and its <c>deliverAfter</c> if it is produced then (Unix ms).</summary>
    [JsonPropertyName("at")] public long Slot { get; set; }

    /// <summary>The command's <c>expiresAt</c>: fixed when proposed; no slot at or after it means <c>expired</c>.</summary>
    [JsonPropertyName("x")] public long ExpiresAt { get; set; }

    /// <summary>The reason that last moved it (<c>hourly_cap</c>, <c>progressive_disclosure</c>, <c>lower_priority</c>, …).</summary>
    [JsonPropertyName("b")] public string Blocked { get; set; } = "";

    /// <summary>The trigger's time (Unix ms): the intervention record and conversion window are timed from it.</summary>
    [JsonPropertyName("ta")] public long TriggerAt { get; set; }

    [JsonPropertyName("k")] public string TriggerKind { get; set; } = "";
    [JsonPropertyName("e")] public List<string> EventIds { get; set; } = [];

    /// <summary>The trigger details as a timer keeps them (text, with the names of JSON literals).</summary>
    [JsonPropertyName("d")] public Dictionary<string, string>? Details { get; set; }

    [JsonPropertyName("mt")] public string Title { get; set; } = "";
    [JsonPropertyName("mb")] public string Body { get; set; } = "";
    [JsonPropertyName("ml")] public string? ActionLabel { get; set; }
    [JsonPropertyName("mu")] public string? ActionUrl { get; set; }

    /// <summary>The experiment variant; null for "control".</summary>
    [JsonPropertyName("v")] public string? Variant { get; set; }

    [JsonPropertyName("i")] public string Intent { get; set; } = "";

    /// <summary>The value of the trigger's <c>per</c> property, for <c>cancelOn</c>; null when the trigger has none.</summary>
    [JsonPropertyName("pe")] public string? Per { get; set; }

    /// <summary>A threshold crossing's key (<see cref="UserState.UnservedCrossings"/>), when the candidate was one.</summary>
    [JsonPropertyName("cx")] public string? Crossing { get; set; }

    /// <summary>The user the command is for, when not the state's own (an anonymous id merged in by an alias).</summary>
    [JsonPropertyName("u")] public string? UserId { get; set; }

    /// <summary>
    /// A minute the rate ledger granted it (minutes since the Unix epoch, UTC; its <see cref="Slot"/> is that minute's start): at
    /// its slot it goes out in that minute without asking again. Null when it holds none (a minute it could not use is lost).
    /// </summary>
    [JsonPropertyName("rm")] public long? Reserved { get; set; }

    /// <summary>
    /// Set while it waits for a minute on a rate-limited channel: counted at its slot as a produced command is, not produced,
    /// recorded or (for a new candidate) decided yet. Never stored: the pace stage settles it in the batch that set it.
    /// </summary>
    [JsonIgnore] public Policies.MinuteWait? Awaiting { get; set; }
}
