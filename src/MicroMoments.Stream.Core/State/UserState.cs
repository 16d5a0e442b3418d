using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Everything the rules know about one user. Stored in Redis as one compact binary value of sections (<see cref="UserStateSerializer"/>);
/// the JSON form earlier versions stored (still read, and printed by <c>explain</c>) has short property names.
/// Times are Unix milliseconds.
/// </summary>
public sealed class UserState
{
    [JsonPropertyName("u")] public string UserId { get; set; } = "";

    /// <summary>Last applied offset per "topic/partition": a redelivered record at or below it is skipped.</summary>
    [JsonPropertyName("wm")] public Dictionary<string, long> Watermarks { get; set; } = new(StringComparer.Ordinal);

    [JsonPropertyName("fs")] public long FirstSeenAt { get; set; }
    [JsonPropertyName("su")] public long? SignedUpAt { get; set; }
    [JsonPropertyName("le")] public long LastEventAt { get; set; }
    [JsonPropertyName("dv")] public string? Device { get; set; }
    [JsonPropertyName("tz")] public string? Timezone { get; set; }
    // Traits, feature counts and task durations are kept least recently used first, so the oldest is evicted at
    // their bound (StateLimits): the order itself is the recency, and both stored forms keep it at no extra cost.
    [JsonPropertyName("tr")] public OrderedDictionary<string, string>? Traits { get; set; }
    [JsonPropertyName("fc")] public OrderedDictionary<string, int>? FeatureCounts { get; set; }
    [JsonPropertyName("lf")] public string? LastFeature { get; set; }

    /// <summary>Engagement points per day (days since the Unix epoch, UTC), for the 30-day score.</summary>
    [JsonPropertyName("ep")] public Dictionary<int, int>? EngagementPoints { get; set; }

    /// <summary>The last day (in the user's time zone, days since the epoch) with activity, and the streak ending on it.</summary>
    [JsonPropertyName("ad")] public int LastActiveDay { get; set; }
    [JsonPropertyName("sk")] public int StreakDays { get; set; }

    /// <summary>Current session start, the last finished session's length and the user's EWMA baseline (ms).</summary>
    [JsonPropertyName("ss")] public long SessionStartedAt { get; set; }
    [JsonPropertyName("ls")] public long LastSessionMs { get; set; }
    [JsonPropertyName("bl")] public long SessionBaselineMs { get; set; }

    /// <summary>EWMA of each task's completion time (ms), the user's own "usual".</summary>
    [JsonPropertyName("td")] public OrderedDictionary<string, long>? TaskDurations { get; set; }

    /// <summary>How many completions were much faster than usual (efficiency-seeker signal).</summary>
    [JsonPropertyName("fx")] public int FastCompletions { get; set; }

    [JsonPropertyName("os")] public int OnboardingStep { get; set; }
    [JsonPropertyName("ot")] public int OnboardingTotal { get; set; }
    [JsonPropertyName("oc")] public bool OnboardingCompleted { get; set; }

    /// <summary>The last interventions (and held-out ghosts) with their feedback, newest last.</summary>
    [JsonPropertyName("iv")] public List<InterventionRecord>? Interventions { get; set; }

    /// <summary>Dismissals per rule since its last dismissal pause.</summary>
    [JsonPropertyName("dm")] public Dictionary<string, int>? Dismissals { get; set; }

    /// <summary>Rules paused for this user after repeated dismissals: rule id → until (Unix ms).</summary>
    [JsonPropertyName("rp")] public Dictionary<string, long>? RulePausedUntil { get; set; }

    /// <summary>Dismissals of rules under a <c>scope: user</c> dismissal pause, across rules, since the last user-wide pause.</summary>
    [JsonPropertyName("ud")] public int UserDismissals { get; set; }

    /// <summary>Every rule is paused for this user until then (Unix ms) after repeated dismissals (<c>scope: user</c>); 0: never.</summary>
    [JsonPropertyName("up")] public long UserPausedUntil { get; set; }

    /// <summary>When all nudges were last paused for this user (Unix ms) after too many unanswered in a row; 0: never.</summary>
    [JsonPropertyName("ap")] public long AutoPausedAt { get; set; }

    /// <summary>The arm each <c>allocation: bandit</c> experiment gave the user at their first exposure (experiment → variant): sticky.</summary>
    [JsonPropertyName("ba")] public Dictionary<string, string>? BanditArms { get; set; }

    /// <summary>Which counts of the sign-up cohort's retention were made (<see cref="Analytics.RetentionCounting"/>): each once.</summary>
    [JsonPropertyName("rm")] public int RetentionMarks { get; set; }

    /// <summary>The latest activity counted for retention (Unix ms; 0: none): a later UTC day counts the user active on it.</summary>
    [JsonPropertyName("rl")] public long RetentionLatest { get; set; }

    /// <summary>
    /// When the user last did each event (normalised name → Unix ms), and each <c>did</c>-with-<c>where</c> key of the rules
    /// (<see cref="Decisions.LastSeenRecord"/>), least recently seen first; at most <see cref="Decisions.LastSeenRecord.MaxEntries"/>.
    /// </summary>
    [JsonPropertyName("ds")] public OrderedDictionary<string, long>? LastSeen { get; set; }

    /// <summary>The treated and control arms the user is in, for retention against control: each once, from its first decision.</summary>
    [JsonPropertyName("ra")] public List<RetentionGroup>? RetentionGroups { get; set; }

    /// <summary>Hashes of the last few message ids: an upstream duplicate (same messageId, new offset) changes nothing.</summary>
    [JsonPropertyName("ri")] public List<int>? RecentIds { get; set; }

    /// <summary>Recent hits of count triggers, per rule and property value.</summary>
    [JsonPropertyName("w")] public Dictionary<string, List<WindowHit>>? Windows { get; set; }

    [JsonPropertyName("t")] public List<PendingTimer>? Timers { get; set; }

    /// <summary>Interventions emitted, kept as long as the longest cap or cooldown needs them.</summary>
    [JsonPropertyName("s")] public List<SentRecord>? Sent { get; set; }

    /// <summary>The earliest timer due time or waiting delivery's slot (Unix ms), or null.</summary>
    [JsonIgnore]
    public long? NextDueAt
    {
        get
        {
            var next = long.MaxValue;
            foreach (var t in CollectionsMarshal.AsSpan(Timers))
            {
                next = Math.Min(next, t.DueAt);
            }
            // A waiting delivery wakes the user at its slot, as a timer does; one awaiting its minute is settled in its own batch.
            foreach (var w in CollectionsMarshal.AsSpan(Waiting))
            {
                if (w.Awaiting is null)
                {
                    next = Math.Min(next, w.Slot);
                }
            }
            return next == long.MaxValue ? null : next;
        }
    }

    /// <summary>
    /// The user's score in the shard's timer index, or null when not indexed. It may be earlier than
    /// <see cref="NextDueAt"/> (a timer pushed later needs no index write): the timer loop then wakes the
    /// user early, finds nothing due and re-scores exactly.
    /// </summary>
    [JsonPropertyName("ix")] public long? IndexedDueAt { get; set; }

    /// <summary>
    /// What the user's context says beyond traits, read as <c>user.location.*</c> ("location.city", …) and
    /// <c>user.group.*</c> ("group.id", "group.&lt;trait&gt;"); least recently set first, bounded like traits.
    /// </summary>
    [JsonPropertyName("at")] public OrderedDictionary<string, string>? Attributes { get; set; }

    /// <summary>Set on an anonymous user's state once an alias merged it into this identified user (a tombstone).</summary>
    [JsonPropertyName("mi")] public string? MergedInto { get; set; }

    /// <summary>
    /// Every event applied to this state named the user only by <c>anonymousId</c>: the one kind of state an alias may merge
    /// into another user. Stored only when true, so a state written before the flag existed reads as identified (never merged).
    /// </summary>
    [JsonPropertyName("an")] public bool Anonymous { get; set; }

    /// <summary>
    /// Active days per local hour for <c>deliver: best_time</c> (<see cref="Decisions.ActiveHours"/>): 24 bytes, the low nibble
    /// the current 15-day period, the high nibble the one before; null until the first event.
    /// </summary>
    [JsonPropertyName("ah")] public byte[]? ActiveHours { get; set; }

    /// <summary>The current period of <see cref="ActiveHours"/>: local days since the epoch / 15.</summary>
    [JsonPropertyName("ahp")] public int ActiveHoursPeriod { get; set; }

    /// <summary>
    /// Commands sent whose <c>deliverAfter</c> is still ahead, so a <c>cancelOn</c> event or a pause can withdraw them
    /// (<see cref="Decisions.DeliveryCancellation"/>); dropped once cancelled or once that time has passed.
    /// </summary>
    [JsonPropertyName("pd")] public List<PendingDelivery>? PendingDeliveries { get; set; }

    /// <summary>What answering in event time needs (<see cref="EventTimeState"/>); null when nothing.</summary>
    [JsonPropertyName("et")] public EventTimeState? EventTime { get; set; }

    /// <summary>
    /// The schedule's waiting entries (<see cref="Decisions.DeliverySchedule"/>): candidates blocked by a count limit, a
    /// collision or a rate limit, unproduced until their slot; at most one per rule and <see cref="Decisions.DeliverySchedule.MaxWaiting"/>
    /// in all, besides those awaiting their minute within a batch (<see cref="WaitingDelivery.Awaiting"/>).
    /// </summary>
    [JsonPropertyName("wt")] public List<WaitingDelivery>? Waiting { get; set; }

    /// <summary>
    /// Threshold crossings (rule id, or rule id and feature) whose candidate expired or was dropped as blocked: the rule fires
    /// again at the next qualifying event while the metric still holds (<see cref="Decisions.DeliverySchedule"/>).
    /// </summary>
    [JsonPropertyName("uc")] public List<string>? UnservedCrossings { get; set; }

    /// <summary>Running counts for the learned segments' features (<see cref="BehaviourCounts"/>); null until the first activity.</summary>
    [JsonPropertyName("bh")] public BehaviourCounts? Behaviour { get; set; }

    /// <summary>Set by the timer loop: the next write must put the exact <see cref="NextDueAt"/> in the index.</summary>
    [JsonIgnore] public bool ReindexTimers { get; set; }

    /// <summary>
    /// Sections of the stored value that a newer version wrote and this one does not know, asking to be kept: written back
    /// unchanged in the binary container, so a rolling upgrade or a rollback loses none of the newer version's state. Not in
    /// the JSON form.
    /// </summary>
    [JsonIgnore] public KeptSections? UnknownSections { get; set; }
}

/// <summary>
/// Sections of a stored value this version does not know, kept to be written back byte for byte (<see cref="UserState.UnknownSections"/>),
/// with the time base and name table of the value they came in, which their times and names may refer to.
/// </summary>
public sealed class KeptSections
{
    /// <summary>The header's time base when they were read.</summary>
    public long TimeBase { get; init; }

    /// <summary>The header's name table when they were read.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    /// <summary>Each section's key (its id shifted left by one, the keep bit set) and payload, in id order.</summary>
    public List<(int Key, byte[] Payload)> Sections { get; init; } = [];

    /// <summary>The bytes they take when written: keys, lengths and payloads.</summary>
    public int Bytes => Sections.Sum(x => 10 + x.Payload.Length);
}

/// <summary>An intervention the user was sent (or, with <see cref="Ghost"/>, would have been sent) and what became of it.</summary>
public sealed class InterventionRecord
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("r")] public string RuleId { get; set; } = "";
    [JsonIgnore] public string Variant { get; set; } = "control";

    /// <summary>The variant as stored: null for "control", the common case, to keep the state small.</summary>
    [JsonPropertyName("v")] public string? StoredVariant { get => Variant == "control" ? null : Variant; set => Variant = value ?? "control"; }
    [JsonPropertyName("t")] public long At { get; set; }

    /// <summary>delivered, displayed, clicked, dismissed (the latest); null while only sent.</summary>
    [JsonPropertyName("s")] public string? Status { get; set; }

    [JsonPropertyName("cv")] public bool? Converted { get; set; }

    /// <summary>
    /// The feedback types already counted for this intervention (<see cref="Converted"/> keeps the conversion). A record written
    /// before these flags existed has none: its <see cref="Status"/> and <see cref="Converted"/> stand in (<see cref="HasCounted"/>).
    /// </summary>
    [JsonPropertyName("f")] public FeedbackKinds Counted { get; set; }

    /// <summary>Whether feedback of type <paramref name="kind"/> was counted for this intervention already.</summary>
    public bool HasCounted(FeedbackKinds kind) =>
        kind == FeedbackKinds.Converted ? Converted == true : ((Counted | FeedbackKindNames.Parse(Status)) & kind) != 0;

    /// <summary>A conversion event until this time (Unix ms) is attributed to this intervention.</summary>
    [JsonPropertyName("cu")] public long? ConvertUntil { get; set; }

    /// <summary>Held out: nothing was sent; kept to compare conversions fairly.</summary>
    [JsonPropertyName("g")] public bool? Ghost { get; set; }
}

/// <summary>One event counted in a sliding window.</summary>
public sealed record WindowHit([property: JsonPropertyName("t")] long At, [property: JsonPropertyName("id")] string EventId);

/// <summary>A durable timer: dwell, inactivity or absence, armed by an event and cancelled by a later one.</summary>
public sealed class PendingTimer
{
    /// <summary>Unique per user: rule id plus scope (for example the cart id).</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    /// <summary>The rule, when it differs from <see cref="Id"/> (per-scope timers); null keeps the state small.</summary>
    [JsonPropertyName("r")] public string? OwnRuleId { get; set; }

    [JsonIgnore] public string RuleId => OwnRuleId ?? Id;

    [JsonPropertyName("due")] public long DueAt { get; set; }
    [JsonPropertyName("by")] public string ArmedBy { get; set; } = "";
    [JsonPropertyName("d")] public Dictionary<string, string>? Details { get; set; }
}

/// <summary>A sent command not yet due for delivery: what a cancellation needs to name it and to match a <c>cancelOn</c> event.</summary>
public sealed class PendingDelivery
{
    [JsonPropertyName("id")] public string InterventionId { get; set; } = "";
    [JsonPropertyName("r")] public string RuleId { get; set; } = "";
    [JsonPropertyName("c")] public string Channel { get; set; } = "";
    [JsonPropertyName("da")] public long DeliverAfter { get; set; }

    /// <summary>The value of the rule's trigger <c>per</c> property the command was for; null when the trigger has none.</summary>
    [JsonPropertyName("p")] public string? Per { get; set; }

    /// <summary>The user the command was sent to, when not the state's own (an anonymous id merged in by an alias).</summary>
    [JsonPropertyName("u")] public string? UserId { get; set; }
}

/// <summary>
/// An intervention that was produced (or a global control ghost), for caps, cooldowns and progressive disclosure: <see cref="At"/>
/// is its delivery time (the command's <c>deliverAfter</c>), since caps count what the user receives when they receive it.
/// </summary>
public sealed record SentRecord(
    [property: JsonPropertyName("t")] long At,
    [property: JsonPropertyName("r")] string RuleId,
    [property: JsonPropertyName("c")] string Channel,
    [property: JsonPropertyName("m")] string Category,
    [property: JsonPropertyName("tp")] bool? Tip = null);

/// <summary>Source-generated serialisation for <see cref="UserState"/>.</summary>
// Defaults (0, false, null) are not written: they read back the same and most users have many of them.
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(UserState))]
[JsonSerializable(typeof(List<WaitingDelivery>))]
public sealed partial class UserStateJsonContext : JsonSerializerContext;

/// <summary>
/// One treated or control arm of a rule (or of every rule, <see cref="Analytics.RetentionArms.Program"/>) a user is in: since
/// the first decision that put them in it, and which retention days were counted.
/// </summary>
public sealed class RetentionGroup
{
    [JsonPropertyName("r")] public string RuleId { get; set; } = "";

    [JsonPropertyName("a")] public string Arm { get; set; } = "";

    /// <summary>The first treatment's (or ghost's) decision time (Unix ms).</summary>
    [JsonPropertyName("t")] public long Anchor { get; set; }

    /// <summary>Retention days counted, one bit each (<see cref="Analytics.RetentionCounting"/>).</summary>
    [JsonPropertyName("m")] public int Marks { get; set; }
}
