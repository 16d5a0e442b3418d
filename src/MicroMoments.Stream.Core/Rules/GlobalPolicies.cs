using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>At most <see cref="PerMinute"/> commands on <see cref="Channel"/> per minute of delivery, across every instance.</summary>
public sealed record RateLimitSpec(string Channel, int PerMinute);

/// <summary>
/// The keys of the global <c>policies</c> section that have no per-rule meaning (<c>rateLimit</c>, <c>globalControl</c>,
/// <c>allowedLateness</c>):
/// read here, and taken out of the mapping before the shared policy reader sees it, so a rule's own <c>policy</c> refuses them.
/// </summary>
internal static class GlobalPolicies
{
    private static readonly string[] Keys = ["rateLimit", "globalControl", "allowedLateness"];

    /// <summary>The default of <c>policies.allowedLateness</c>: mobile apps batch events by a few minutes (docs/rules.md, "Allowed lateness").</summary>
    public static readonly TimeSpan DefaultAllowedLateness = TimeSpan.FromMinutes(5);

    /// <summary>The longest <c>policies.allowedLateness</c>: it delays every timer rule, and stays below <c>MaxTriggerAge</c>'s default.</summary>
    public static readonly TimeSpan MaxAllowedLateness = TimeSpan.FromMinutes(10);

    /// <summary>The section without the global-only keys (the same nodes, so errors keep their lines).</summary>
    public static YamlMappingNode? Shared(YamlMappingNode? policies)
    {
        if (policies is null || !Keys.Any(k => policies.Children.ContainsKey(new YamlScalarNode(k))))
        {
            return policies;
        }
        var shared = new YamlMappingNode();
        foreach (var (key, value) in policies.Children)
        {
            if (key is not YamlScalarNode { Value: { } name } || !Keys.Contains(name, StringComparer.Ordinal))
            {
                shared.Children.Add(key, value);
            }
        }
        return shared;
    }

    public static IReadOnlyList<RateLimitSpec> RateLimits(NodeReader r, YamlMappingNode? policies)
    {
        if (policies is null || r.Child(policies, "rateLimit") is not { } node)
        {
            return [];
        }
        if (node is not YamlSequenceNode seq)
        {
            r.Error(node, "'rateLimit' is a list like [{ channel: push, perMinute: 2000 }]");
            return [];
        }
        var limits = new List<RateLimitSpec>();
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode m)
            {
                r.Error(item, "a rate limit is a mapping like { channel: push, perMinute: 2000 }");
                continue;
            }
            r.Known(m, "channel", "perMinute");
            var channel = r.String(m, "channel");
            var perMinute = r.Int(m, "perMinute");
            if (string.IsNullOrWhiteSpace(channel))
            {
                r.Error(m, "a rate limit needs a 'channel'");
            }
            else if (perMinute is null or < 1)
            {
                r.Error(m, "a rate limit needs 'perMinute' of 1 or more");
            }
            else if (limits.Any(l => l.Channel == channel))
            {
                r.Error(m, $"channel '{channel}' has two rate limits");
            }
            else
            {
                limits.Add(new RateLimitSpec(channel, perMinute.Value));
            }
        }
        return limits;
    }

    public static double GlobalControl(NodeReader r, YamlMappingNode? policies)
    {
        if (policies is null || r.Double(policies, "globalControl") is not { } share)
        {
            return 0;
        }
        if (share is < 0 or >= 1 || double.IsNaN(share))
        {
            r.Error(r.Child(policies, "globalControl")!, "'globalControl' is a share of users: at least 0 and below 1, e.g. 0.05");
            return 0;
        }
        return share;
    }

    /// <summary><c>policies.allowedLateness</c>: a duration up to <see cref="MaxAllowedLateness"/>, or <c>0</c> for arrival order.</summary>
    public static TimeSpan AllowedLateness(NodeReader r, YamlMappingNode? policies)
    {
        if (policies is null || r.String(policies, "allowedLateness") is not { } text)
        {
            return DefaultAllowedLateness;
        }
        if (text.Trim() is "0" or "0s" or "0m" or "PT0S")
        {
            return TimeSpan.Zero;
        }
        var lateness = r.Duration(policies, "allowedLateness", required: false);
        if (lateness > MaxAllowedLateness)
        {
            r.Error(r.Child(policies, "allowedLateness")!, $"'allowedLateness' is at most {Durations.ToIso(MaxAllowedLateness)} (10m): every timer rule fires that much after its due time");
            return DefaultAllowedLateness;
        }
        return lateness;
    }
}
