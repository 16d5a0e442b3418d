using System.Text.Json;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.State;
using MicroMoments.Stream.Redis;
using MicroMoments.Stream.Worker.Pipeline;
using MicroMoments.Stream.Worker.WebConsole;
using Microsoft.Extensions.Configuration;
using Polly;
using StackExchange.Redis;

namespace MicroMoments.Stream.Worker;

/// <summary><c>explain --user &lt;id&gt; [--raw]</c>: the user's state, derived values, pending timers and recent decisions, read from Redis.</summary>
public static class ExplainCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The exit code when Redis cannot be read (unreachable, refused the credentials or a command, or timed out) or the rules cannot be loaded.</summary>
    public const int RedisFailedExitCode = 2;

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        try
        {
            return await ExplainAsync(args, configuration, stdout, stderr, time);
        }
        catch (Exception ex) when (RedisResilience.IsUnavailable(ex))
        {
            // One line, no stack trace, and never the configuration string: it may hold a password.
            var what = RedisResilience.IsAuthenticationFailure(ex) ? "Redis refused the credentials (authentication failed): check the user and password in MicroMoments__Redis__Configuration"
                : RedisResilience.IsPermissionFailure(ex) ? "Redis refused a command for this user (NOPERM): check its ACL"
                : ex is RedisServerException ? "Redis cannot serve the command now"
                : ex is RedisConnectionException ? "cannot reach Redis: check the endpoints in MicroMoments__Redis__Configuration"
                : "Redis did not answer in time";
            stderr.WriteLine($"explain: {what} ({FirstLine(ex.Message)})");
            return RedisFailedExitCode;
        }
        catch (ArgumentException ex)
        {
            stderr.WriteLine($"explain: invalid MicroMoments__Redis__Configuration: {FirstLine(ex.Message)}");
            return RedisFailedExitCode;
        }
        catch (RedisServerException ex)
        {
            // A command error (a key of the wrong type, say): the same one line, never a stack trace.
            stderr.WriteLine($"explain: Redis refused a command ({FirstLine(ex.Message)})");
            return RedisFailedExitCode;
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] : line;
    }

    private static async Task<int> ExplainAsync(string[] args, IConfiguration configuration, TextWriter stdout, TextWriter stderr, TimeProvider? time)
    {
        var userId = args.SkipWhile(a => a != "--user").Skip(1).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(userId))
        {
            stderr.WriteLine("explain: --user <id> is required");
            return 2;
        }
        var options = configuration.GetSection(RedisOptions.SectionName).Get<RedisOptions>() ?? new RedisOptions();
        if (options.IsEmbedded)
        {
            stderr.WriteLine("explain reads from Redis: set MicroMoments__Redis__Configuration (for the demo's embedded store, copy the explain command its start-up log prints)");
            return 2;
        }
        var config = ConfigurationOptions.Parse(options.Configuration!);
        config.ConnectRetry = 1;
        using var redis = await ConnectionMultiplexer.ConnectAsync(config);
        var store = new UserStateStore(redis, options, ResiliencePipeline.Empty, time: time);
        var found = await UserLookup.ReadAsync(store, userId, CancellationToken.None);
        if (found.Count == 0)
        {
            stdout.WriteLine($"user {userId}: no state in Redis (never seen, or expired after {options.StateTtl.TotalDays:F0} days)");
            return 1;
        }
        var rulesPath = configuration[$"{RulesOptions.SectionName}:Path"] is { Length: > 0 } p ? p : RulesOptions.DefaultPath;
        RuleSet rules;
        try
        {
            rules = RuleSetLoader.LoadFile(rulesPath);
        }
        catch (Exception ex) when (ex is RuleSetException or IOException or UnauthorizedAccessException)
        {
            // The rules only name the pending timers' rules and the pauses; a broken or missing file is still one line.
            stderr.WriteLine($"explain: cannot load the rules from {rulesPath}: {FirstLine(ex.Message)}");
            return RedisFailedExitCode;
        }
        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (found.Count > 1)
        {
            stdout.WriteLine($"user {userId} has {found.Count} separate states, on shards {string.Join(", ", found.Select(f => f.Shard))}: "
                + "the producers put this user on several partitions. Each state is kept apart, so caps, cooldowns and history do not hold "
                + "across them. Key records by user id with the murmur2 partitioner (docs/wire-formats.md, Producing events).");
        }
        foreach (var (shard, state, decisions, unreadable) in found)
        {
            if (unreadable is { Error: not null })
            {
                // Nothing to derive from: the worker starts this user fresh; the decisions below are still theirs.
                stdout.WriteLine($"user {userId} (shard {shard})");
                stdout.WriteLine($"  {unreadable.Describe(now)}");
            }
            else
            {
                if (unreadable is not null)
                {
                    stdout.WriteLine($"  note: {unreadable.Describe(now)}");
                }
                Write(stdout, userId, shard, state, rules, now, raw: args.Contains("--raw"));
            }
            stdout.WriteLine("recent decisions (newest first):");
            foreach (var d in decisions.Select(DecisionLine.Parse))
            {
                var reason = d.Reason is null ? "" : $" ({d.Reason})";
                stdout.WriteLine($"  {d.At}  {d.RuleId,-32} {d.Outcome}{reason}  trigger: {TriggerText.Describe(d, rules)}  id {d.InterventionId}{(d.Delivery is null ? "" : "  " + d.Delivery)}");
            }
        }
        return 0;
    }

    /// <summary>For a <c>best_time</c> decision: the local hour chosen and why (docs/rules.md, "Send-time optimisation").</summary>
    private static void Write(TextWriter o, string userId, string shard, UserState s, RuleSet rules, DateTimeOffset now, bool raw)
    {
        o.WriteLine($"user {userId} (shard {shard})");
        o.WriteLine($"  lifecycle stage {UserProfile.LifecycleStage(s, now)}, segment {UserProfile.Segment(s, now)}, archetype {UserProfile.Archetype(s, now)}");
        o.WriteLine($"  engagement score {UserProfile.EngagementScore(s, now)}, streak {UserProfile.Streak(s, now)} days, last feature {s.LastFeature ?? "-"}");
        o.WriteLine($"  last event {ConsoleTime.Text(s.LastEventAt, s.Timezone)}, device {s.Device ?? "-"}, time zone {s.Timezone ?? "-"}");
        var hours = ActiveHours.Counts(s, now);
        o.WriteLine($"  active hours (local hour: days active in the last 15–30 days) {(hours.Any(c => c > 0)
            ? string.Join(", ", hours.Select((c, h) => (c, h)).Where(x => x.c > 0).OrderByDescending(x => x.c).ThenBy(x => x.h).Select(x => $"{x.h:00}h: {x.c}"))
            : "-")}");
        o.WriteLine("pending timers:");
        foreach (var t in s.Timers ?? [])
        {
            var label = t.Id == RuleEngine.IdleTimerId ? "(inactivity rules)" : t.RuleId;
            o.WriteLine($"  {label,-32} due {ConsoleTime.Text(t.DueAt, s.Timezone)}{(t.Id != RuleEngine.IdleTimerId && rules.Find(t.RuleId) is null ? "  (rule no longer loaded)" : "")}");
        }
        o.WriteLine("commands awaiting deliverAfter (cancellable):");
        foreach (var p in s.PendingDeliveries ?? [])
        {
            o.WriteLine($"  {p.RuleId,-32} via {p.Channel} after {ConsoleTime.Text(p.DeliverAfter, s.Timezone)}{(p.Per is null ? "" : $" for {p.Per}")}  id {p.InterventionId}");
        }
        o.WriteLine("pauses in force:");
        foreach (var (rule, reason, until) in UserLookup.PausesInForce(s, rules, now))
        {
            o.WriteLine($"  {(rule.Length == 0 ? "(all rules)" : rule),-32} {reason} until {ConsoleTime.Text(until, s.Timezone)}");
        }
        o.WriteLine("feedback history (newest last):");
        foreach (var r in s.Interventions ?? [])
        {
            var what = r.Ghost == true ? "held out" : r.Status ?? "sent, no report yet";
            o.WriteLine($"  {ConsoleTime.Text(r.At, s.Timezone)}  {r.RuleId,-32} {r.Variant,-9} {what}{(r.Converted == true ? ", converted" : "")}  id {r.Id}");
        }
        o.WriteLine("interventions sent (kept for caps):");
        foreach (var x in s.Sent ?? [])
        {
            o.WriteLine($"  {ConsoleTime.Text(x.At, s.Timezone)}  {x.RuleId} via {x.Channel}");
        }
        WriteState(o, s, raw);
    }

    /// <summary>The stored state: in words by default (<see cref="ReadableState"/>), as its JSON with <c>--raw</c>.</summary>
    public static void WriteState(TextWriter o, UserState s, bool raw)
    {
        if (raw)
        {
            o.WriteLine("state (raw, as stored in JSON form):");
            o.WriteLine(JsonSerializer.Serialize(JsonDocument.Parse(UserStateSerializer.ToJson(s)).RootElement, Indented));
            return;
        }
        o.WriteLine("state (every stored field; --raw prints the JSON):");
        ReadableState.Write(o, s);
    }
}
