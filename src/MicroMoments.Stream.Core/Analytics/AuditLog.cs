using System.Globalization;
using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>The records of a decisions file: decisions (they have <c>outcome</c>) and feedback (they have <c>feedback</c>).</summary>
public sealed class AuditLog
{
    private static readonly Dictionary<string, object> NoDetails = [];

    public List<Decision> Decisions { get; } = [];

    public List<FeedbackRecord> Feedback { get; } = [];

    /// <summary>Lines that were neither: (line number, why), for the caller to report.</summary>
    public List<(long Line, string Error)> Rejected { get; } = [];

    /// <summary>Reads NDJSON lines; blank lines are skipped, a line that is no record is kept in <see cref="Rejected"/>.</summary>
    public static AuditLog Read(IEnumerable<string> lines)
    {
        var log = new AuditLog();
        long number = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                log.Add(line);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                log.Rejected.Add((number, ex.Message));
            }
        }
        return log;
    }

    /// <summary>The counters the worker would hold in Redis after these records (<see cref="AuditCounters"/>).</summary>
    public Dictionary<string, Dictionary<string, long>> Counters() => AuditCounters.From(Decisions, Feedback);

    private void Add(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        var user = r.GetProperty("userId").GetString() ?? throw new FormatException("userId is null");
        var rule = r.GetProperty("ruleId").GetString() ?? throw new FormatException("ruleId is null");
        var at = r.TryGetProperty("at", out var a) && a.ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(a.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : default;
        if (r.TryGetProperty("feedback", out var feedback))
        {
            Feedback.Add(new FeedbackRecord(user, rule, String(r, "variant") ?? "control",
                feedback.GetString() ?? throw new FormatException("feedback is null"), String(r, "interventionId") ?? "", at));
            return;
        }
        var outcome = r.GetProperty("outcome").GetString() ?? throw new FormatException("outcome is null");
        var trigger = r.TryGetProperty("trigger", out var t) && t.ValueKind == JsonValueKind.Object
            ? new TriggerInfo(String(t, "kind") ?? "",
                t.TryGetProperty("eventIds", out var ids) && ids.ValueKind == JsonValueKind.Array ? ids.EnumerateArray().Select(i => i.GetString() ?? "").ToList() : [],
                NoDetails)
            : new TriggerInfo("", [], NoDetails);
        Decisions.Add(new Decision(user, rule, String(r, "ruleVersion") ?? "", outcome, String(r, "reason"), String(r, "interventionId"), at, trigger)
        {
            Variant = String(r, "variant"),
            Blocked = String(r, "blocked"),
            FollowUp = r.TryGetProperty("followUp", out var followUp) && followUp.ValueKind == JsonValueKind.True,
            Assigned = r.TryGetProperty("assigned", out var assigned) && assigned.ValueKind == JsonValueKind.True,
        });
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
