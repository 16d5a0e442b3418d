using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.Interventions;
using MicroMoments.Stream.Core.Policies;
using MicroMoments.Stream.Core.Rules.Triggers;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>A problem in a rules file, with the 1-based line it was found on.</summary>
public sealed record RuleError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>Thrown when a rules file cannot be loaded; carries every error found.</summary>
public sealed class RuleSetException(IReadOnlyList<RuleError> errors)
    : Exception("invalid rules: " + string.Join("; ", errors))
{
    public IReadOnlyList<RuleError> Errors { get; } = errors;
}

/// <summary>Loads a YAML (or JSON) rules file into a <see cref="RuleSet"/>, collecting errors with line numbers.</summary>
public static class RuleSetLoader
{
    public static RuleSet Load(string text, RulesFileLimits? limits = null)
    {
        var errors = new List<RuleError>();
        var set = TryLoad(text, errors, limits);
        return errors.Count > 0 || set is null ? throw new RuleSetException(errors) : set;
    }

    public static RuleSet LoadFile(string path, RulesFileLimits? limits = null) => Load(ReadFile(path, limits), limits);

    /// <summary>
    /// Reads a rules file, refusing anything but a regular file (a directory, a FIFO, a device: <see cref="RegularFile"/>)
    /// and a file over <see cref="RulesFileLimits.MaxBytes"/> (by default) before reading it, and never blocking on one.
    /// Every failure is an <see cref="IOException"/> whose message names the path.
    /// </summary>
    public static string ReadFile(string path, RulesFileLimits? limits = null)
    {
        try
        {
            var bytes = RegularFile.ReadAllBytes(path, (limits ?? RulesFileLimits.Default).MaxBytes);
            using var stream = new MemoryStream(bytes, writable: false);
            return ReadText(stream, path, limits);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The text of a rules file as <see cref="ReadFile"/> decodes it (UTF-8, or the encoding its byte-order mark names;
    /// invalid bytes become U+FFFD), reading at most <see cref="RulesFileLimits.MaxBytes"/> (by default) characters plus one.
    /// Throws an <see cref="IOException"/> naming <paramref name="name"/> for a longer stream.
    /// </summary>
    public static string ReadText(System.IO.Stream stream, string name, RulesFileLimits? limits = null)
    {
        var maxBytes = (limits ?? RulesFileLimits.Default).MaxBytes;
        // Length is 0 for a device or a pipe, so the read itself is bounded too.
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var buffer = new char[maxBytes + 1];
        var read = reader.ReadBlock(buffer, 0, buffer.Length);
        return read > maxBytes
            ? throw new IOException($"{name} is larger than {maxBytes} bytes, the limit for a rules file")
            : new string(buffer, 0, read);
    }

    /// <summary>Returns the rule set, or null with <paramref name="errors"/> filled. Never throws for any text.</summary>
    public static RuleSet? TryLoad(string text, List<RuleError> errors, RulesFileLimits? limits = null)
    {
        if (!(limits ?? RulesFileLimits.Default).Check(text, errors))
        {
            return null;
        }
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            stream.Load(parser);
        }
        catch (Exception ex) when (RulesFileLimits.ParserError(ex, parser) is { } error)
        {
            errors.Add(error);
            return null;
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add(new RuleError(1, "the rules file must be a mapping with a 'rules' list"));
            return null;
        }

        var r = new NodeReader(errors);
        r.Known(root, "version", "labels", "features", "policies", "rules");
        var labels = r.StringMap(root, "labels");
        var features = r.StringList(root, "features");
        var policies = r.Map(root, "policies");
        var global = ReadPolicy(r, GlobalPolicies.Shared(policies));
        if (global.CancelOn is not null)
        {
            r.Error(r.Child(policies!, "cancelOn")!, "'cancelOn' is a per-rule policy (policy.cancelOn), not a global one");
        }
        if (global.OnBlocked is not null)
        {
            r.Error(r.Child(policies!, "onBlocked")!, "'onBlocked' is a per-rule policy (policy.onBlocked), not a global one");
        }
        var (rateLimits, globalControl) = (GlobalPolicies.RateLimits(r, policies), GlobalPolicies.GlobalControl(r, policies));
        var lateness = GlobalPolicies.AllowedLateness(r, policies);
        var rules = new List<Rule>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (r.Child(root, "rules") is not YamlSequenceNode seq)
        {
            errors.Add(new RuleError(Line(root), "'rules' must be a list"));
            return null;
        }
        foreach (var node in seq)
        {
            if (node is not YamlMappingNode m)
            {
                errors.Add(new RuleError(Line(node), "each rule must be a mapping"));
                continue;
            }
            if (ReadRule(r, m) is { } rule)
            {
                if (!ids.Add(rule.Id))
                {
                    errors.Add(new RuleError(Line(m), $"duplicate rule id '{rule.Id}'"));
                }
                rules.Add(rule);
            }
        }
        if (errors.Count > 0)
        {
            return null;
        }

        var version = r.String(root, "version") ?? ContentHash(text);
        foreach (var rule in rules)
        {
            if (rule.Trigger.CrossRuleProblem(rule, ids) is { } problem)
            {
                errors.Add(new RuleError(1, problem));
            }
        }
        if (errors.Count > 0)
        {
            return null;
        }
        return new RuleSet { Version = version, Rules = rules, Policy = global, Labels = labels, Features = features,
            RateLimits = rateLimits, GlobalControl = globalControl, AllowedLateness = lateness };
    }

    private static string ContentHash(string text) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    private static Rule? ReadRule(NodeReader r, YamlMappingNode m)
    {
        r.Known(m, "id", "description", "enabled", "trigger", "when", "action", "policy", "experiment", "conversion");
        var id = r.String(m, "id");
        if (string.IsNullOrWhiteSpace(id))
        {
            r.Error(m, "a rule needs an 'id'");
            return null;
        }
        if (r.Bool(m, "enabled") == false)
        {
            return null;
        }
        var before = r.ErrorCount;
        var trigger = ReadTrigger(r, r.Map(m, "trigger"), id, m);
        r.FiresWithoutEvent = trigger is { Info.FiresOnTimer: true } ? trigger.Name : null;
        var action = ReadAction(r, r.Map(m, "action"), id, m);
        var policy = ReadPolicy(r, r.Map(m, "policy"));
        var conditions = ReadConditions(r, r.Child(m, "when"), id);
        var experiment = ReadExperiment(r, r.Map(m, "experiment"), id);
        var conversion = r.Map(m, "conversion") is { } cv ? ReadConversion(r, cv, id) : null;
        if (experiment is { Bandit: true } && conversion is null)
        {
            // Thompson sampling learns from conversions: without one to count it would allocate at random for ever.
            r.Error(r.Child(r.Map(m, "experiment")!, "allocation")!, $"rule '{id}': allocation: bandit needs a 'conversion' to learn from");
        }
        if (trigger is null || action is null || r.ErrorCount > before)
        {
            return null;
        }
        return new Rule
        {
            Id = id, Description = r.String(m, "description"), Trigger = trigger, Conditions = conditions, Action = action, Policy = policy,
            Experiment = experiment, Conversion = conversion,
        };
    }

    private static ExperimentSpec? ReadExperiment(NodeReader r, YamlMappingNode? e, string id)
    {
        if (e is null)
        {
            return null;
        }
        r.Known(e, "name", "holdout", "variants", "allocation");
        var allocation = r.String(e, "allocation") ?? "weights";
        if (allocation is not ("weights" or "bandit"))
        {
            r.Error(r.Child(e, "allocation")!, $"rule '{id}': allocation '{allocation}' is not one of weights, bandit");
        }
        var holdout = r.Double(e, "holdout") ?? 0;
        if (holdout is < 0 or >= 1)
        {
            r.Error(e, $"rule '{id}': experiment holdout must be at least 0 and below 1");
        }
        var variants = new List<VariantSpec>();
        if (r.Child(e, "variants") is YamlSequenceNode seq)
        {
            foreach (var node in seq)
            {
                if (node is not YamlMappingNode v)
                {
                    r.Error(node, $"rule '{id}': a variant is a mapping like {{ name: control, weight: 1 }}");
                    continue;
                }
                r.Known(v, "name", "weight", "message", "delay", "deliver", "channel", "channels", "action");
                var name = r.String(v, "name");
                var weight = r.Double(v, "weight") ?? 1;
                if (string.IsNullOrWhiteSpace(name) || weight <= 0)
                {
                    r.Error(v, $"rule '{id}': a variant needs a 'name' and a positive 'weight'");
                    continue;
                }
                if (name.Contains('|', StringComparison.Ordinal))
                {
                    // The analytics counters name a field "<rule>|<variant>|<metric>": a '|' here would credit another rule.
                    r.Error(v, $"rule '{id}': variant name '{name}' cannot contain '|'");
                    continue;
                }
                if (name == Decisions.GlobalControl.Variant)
                {
                    // The report reads this variant as the global control group's ghosts, not as commands sent.
                    r.Error(v, $"rule '{id}': variant name '{name}' is reserved");
                    continue;
                }
                variants.Add(ReadVariant(r, v, name, weight, id));
            }
        }
        if (variants.Count == 0)
        {
            variants.Add(new VariantSpec("control", 1, null));
        }
        return new ExperimentSpec(r.String(e, "name") ?? id, holdout, variants, allocation == "bandit");
    }

    /// <summary>
    /// What a variant changes of the rule's action: <c>message</c>, <c>delay</c>, <c>deliver</c>, <c>channel</c> or
    /// <c>channels</c>, given on the variant itself or under an <c>action</c> of its own (not both for one key).
    /// </summary>
    private static VariantSpec ReadVariant(NodeReader r, YamlMappingNode v, string name, double weight, string id)
    {
        string[] keys = ["message", "delay", "deliver", "channel", "channels"];
        var a = v;
        if (r.Map(v, "action") is { } action)
        {
            r.Known(action, keys);
            foreach (var key in keys.Where(k => r.Child(v, k) is not null && r.Child(action, k) is not null))
            {
                r.Error(r.Child(v, key)!, $"rule '{id}': variant '{name}' sets '{key}' twice, on the variant and under its 'action'");
            }
            a = new YamlMappingNode(keys.SelectMany(k => (r.Child(action, k) ?? r.Child(v, k)) is { } node
                ? [new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(k), node)] : Array.Empty<KeyValuePair<YamlNode, YamlNode>>()));
        }
        var channels = ReadChannels(r, a);
        if (channels is not null && !channels.ContainsKey("default"))
        {
            r.Error(v, $"rule '{id}': variant '{name}' gives 'channels' without a 'default'");
        }
        return new VariantSpec(name, weight, r.Map(a, "message") is { } msg ? ReadMessage(r, msg, id) : null)
        {
            Delay = r.Child(a, "delay") is null ? null : r.Duration(a, "delay", required: true),
            Deliver = ReadDeliver(r, a, id),
            Channels = channels,
        };
    }

    private static ConversionSpec? ReadConversion(NodeReader r, YamlMappingNode c, string id)
    {
        r.Known(c, "event", "within");
        var evt = r.String(c, "event");
        if (string.IsNullOrWhiteSpace(evt))
        {
            r.Error(c, $"rule '{id}': a conversion needs an 'event'");
            return null;
        }
        return new ConversionSpec(EventNames.Normalize(evt), r.Duration(c, "within", required: true));
    }

    private static readonly string[] Operators = ["equals", "notEquals", "in", "notIn", "lt", "lte", "gt", "gte", "exists"];

    private static List<Condition> ReadConditions(NodeReader r, YamlNode? node, string id)
    {
        var result = new List<Condition>();
        if (node is null)
        {
            return result;
        }
        if (node is not YamlSequenceNode seq)
        {
            r.Error(node, $"rule '{id}': 'when' must be a list of conditions like {{ path: user.device, equals: mobile }}");
            return result;
        }
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode c)
            {
                r.Error(item, $"rule '{id}': a condition is a mapping like {{ path: state.engagementScore, lt: 40 }}");
                continue;
            }
            if (r.Child(c, "did") is not null || r.Child(c, "not") is not null)
            {
                if (DidReader.Read(r, c, id) is { } did)
                {
                    result.Add(did);
                }
                continue;
            }
            r.Known(c, ["path", .. Operators]);
            var path = r.String(c, "path");
            var ops = Operators.Where(o => r.Child(c, o) is not null).ToList();
            if (string.IsNullOrWhiteSpace(path) || ops.Count != 1)
            {
                r.Error(c, $"rule '{id}': a condition needs a 'path' and exactly one of {string.Join(", ", Operators)}");
                continue;
            }
            if (r.PathProblem(path) is { } problem)
            {
                r.Error(c, $"rule '{id}': {problem}");
            }
            var operands = r.Child(c, ops[0]) is YamlSequenceNode list
                ? list.OfType<YamlScalarNode>().Select(v => v.Value ?? "").ToList()
                : [r.String(c, ops[0]) ?? ""];
            if (operands.Any(o => o.Length > RulesFileLimits.MaxTemplateLength))
            {
                r.Error(c, $"rule '{id}': a condition value is longer than {RulesFileLimits.MaxTemplateLength} characters");
                continue;
            }
            foreach (var operand in operands)
            {
                r.CheckPlaceholders(r.Child(c, ops[0])!, ops[0], operand);
            }
            result.Add(new Condition(path, ops[0], operands));
        }
        return result;
    }

    private static TriggerSpec? ReadTrigger(NodeReader r, YamlMappingNode? t, string id, YamlNode owner)
    {
        if (t is null)
        {
            r.Error(owner, $"rule '{id}' needs a 'trigger'");
            return null;
        }
        // The kind decides which keys are known; errors keep their order: unknown keys, then the kind.
        var info = TriggerKinds.Find((r.Child(t, "kind") as YamlScalarNode)?.Value);
        r.Known(t, [.. info?.Keys ?? TriggerKinds.AllKeys]);
        var kindText = r.String(t, "kind");
        if (info is null)
        {
            r.Error(t, $"rule '{id}': trigger kind '{kindText}' is not one of {string.Join(", ", TriggerKinds.All.Select(k => k.Name))}");
            return null;
        }
        return info.Parse(r, t, id, kindText!);
    }

    /// <summary>Seed 004's micro-moment intents, the values of <c>data.intent</c>.</summary>
    private static readonly string[] Intents = ["know", "go", "do", "buy"];

    private static ActionSpec? ReadAction(NodeReader r, YamlMappingNode? a, string id, YamlNode owner)
    {
        if (a is null)
        {
            r.Error(owner, $"rule '{id}' needs an 'action'");
            return null;
        }
        r.Known(a, "moment", "channel", "channels", "priority", "delay", "expires", "message", "intent", "category", "tip", "deliver");
        var moment = r.String(a, "moment");
        if (string.IsNullOrWhiteSpace(moment))
        {
            r.Error(a, $"rule '{id}': the action needs a 'moment'");
        }
        var channels = ReadChannels(r, a) ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!channels.ContainsKey("default"))
        {
            r.Error(a, $"rule '{id}': the action needs a 'channel' (or 'channels' with a 'default')");
        }
        var msg = r.Map(a, "message");
        MessageSpec? message = null;
        if (msg is null)
        {
            r.Error(a, $"rule '{id}': the action needs a 'message'");
        }
        else
        {
            message = ReadMessage(r, msg, id);
        }
        var intent = r.String(a, "intent");
        if (intent is not null && !Intents.Contains(intent, StringComparer.Ordinal))
        {
            r.Error(r.Child(a, "intent")!, $"rule '{id}': intent '{intent}' is not one of {string.Join(", ", Intents)}");
        }
        var deliver = ReadDeliver(r, a, id);
        var priority = r.Int(a, "priority") ?? 50;
        if (priority is < 0 or > 100)
        {
            r.Error(a, $"rule '{id}': priority must be 0 to 100");
        }
        if (moment is null || message is null || !channels.ContainsKey("default"))
        {
            return null;
        }
        return new ActionSpec
        {
            Moment = moment,
            Channels = channels,
            Priority = priority,
            Delay = r.Child(a, "delay") is null ? TimeSpan.Zero : r.Duration(a, "delay", required: true),
            Expiry = r.Child(a, "expires") is null ? TimeSpan.FromHours(1) : r.Duration(a, "expires", required: true),
            Message = message,
            Intent = intent,
            Category = r.String(a, "category") ?? moment,
            Tip = r.Bool(a, "tip") ?? false,
            BestTime = deliver?.BestTime ?? false,
            SendWindow = deliver?.Window,
        };
    }

    /// <summary><c>channel</c> and per-device <c>channels</c> as one map (the channel is the "default"); null when neither is given.</summary>
    private static Dictionary<string, string>? ReadChannels(NodeReader r, YamlMappingNode a)
    {
        if (r.Child(a, "channel") is null && r.Child(a, "channels") is null)
        {
            return null;
        }
        var channels = new Dictionary<string, string>(r.StringMap(a, "channels"), StringComparer.OrdinalIgnoreCase);
        if (r.String(a, "channel") is { } channel)
        {
            channels["default"] = channel;
        }
        return channels;
    }

    private static MessageSpec ReadMessage(NodeReader r, YamlMappingNode msg, string id)
    {
        r.Known(msg, "title", "body", "action");
        var link = r.Map(msg, "action");
        if (link is not null)
        {
            r.Known(link, "label", "url");
        }
        var body = r.Template(msg, "body");
        if (string.IsNullOrWhiteSpace(body))
        {
            r.Error(msg, $"rule '{id}': the message needs a 'body'");
        }
        return new MessageSpec(r.Template(msg, "title") ?? "", body ?? "",
            link is null ? null : r.Template(link, "label"), link is null ? null : r.Template(link, "url"));
    }

    /// <summary><c>deliver</c>: <c>now</c>, <c>best_time</c> or a send window <c>{ from, to }</c>; null when not given.</summary>
    private static DeliverSpec? ReadDeliver(NodeReader r, YamlMappingNode a, string id)
    {
        switch (r.Child(a, "deliver"))
        {
            case null:
                return null;
            case YamlMappingNode window:
                return ReadWindow(r, window) is { } w ? new DeliverSpec(false, w) : null;
            case var node:
                var deliver = r.String(a, "deliver");
                if (deliver is not ("now" or "best_time"))
                {
                    r.Error(node, $"rule '{id}': deliver '{deliver}' is not one of now, best_time, or a window {{ from: \"18:00\", to: \"21:00\" }}");
                    return null;
                }
                return new DeliverSpec(deliver == "best_time", null);
        }
    }

    private static PolicySpec ReadPolicy(NodeReader r, YamlMappingNode? p)
    {
        if (p is null)
        {
            return PolicySpec.None;
        }
        r.Known(p, "caps", "cooldown", "oncePerUser", "quietHours", "sendWindow", "progressiveDisclosure", DismissalPausePolicy.Key, "autoPause", "cancelOn", "onBlocked");
        var caps = new List<CapSpec>();
        if (r.Child(p, "caps") is YamlSequenceNode seq)
        {
            foreach (var node in seq)
            {
                if (node is not YamlMappingNode c)
                {
                    r.Error(node, "a cap is a mapping like { max: 3, per: 1h }");
                    continue;
                }
                r.Known(c, "max", "per", "channel", "category");
                var max = r.Int(c, "max");
                if (max is null or < 1)
                {
                    r.Error(c, "a cap needs 'max' of 1 or more");
                    continue;
                }
                caps.Add(new CapSpec(max.Value, r.Duration(c, "per", required: true), r.String(c, "channel"), r.String(c, "category"),
                    Durations.CalendarDays((r.Child(c, "per") as YamlScalarNode)?.Value)));
            }
        }
        return new PolicySpec
        {
            Caps = caps,
            Cooldown = r.Child(p, "cooldown") is null ? null : r.Duration(p, "cooldown", required: true),
            OncePerUser = r.Bool(p, "oncePerUser") ?? false,
            QuietHours = ReadWindow(r, r.Map(p, "quietHours")),
            SendWindow = ReadWindow(r, r.Map(p, "sendWindow")),
            ProgressiveDisclosure = r.Child(p, "progressiveDisclosure") is null ? null : r.Duration(p, "progressiveDisclosure", required: true),
            DismissalPause = DismissalPausePolicy.Read(r, r.Map(p, DismissalPausePolicy.Key)),
            AutoPause = ReadPause(r, r.Map(p, "autoPause")),
            CancelOn = r.Child(p, "cancelOn") is null ? null : r.StringList(p, "cancelOn").Select(EventNames.Normalize).Distinct(StringComparer.Ordinal).ToList(),
            OnBlocked = ReadOnBlocked(r, p),
        };
    }

    private static BlockedAction? ReadOnBlocked(NodeReader r, YamlMappingNode p)
    {
        if (r.Child(p, "onBlocked") is not { } node)
        {
            return null;
        }
        switch (r.String(p, "onBlocked"))
        {
            case "defer":
                return BlockedAction.Defer;
            case "drop":
                return BlockedAction.Drop;
            default:
                r.Error(node, "'onBlocked' is 'defer' or 'drop'");
                return null;
        }
    }

    private static TimeWindow? ReadWindow(NodeReader r, YamlMappingNode? w)
    {
        if (w is null)
        {
            return null;
        }
        r.Known(w, "from", "to", "mode");
        var from = r.String(w, "from");
        var to = r.String(w, "to");
        if (!TimeSpan.TryParseExact(from, @"hh\:mm", CultureInfo.InvariantCulture, out var f)
            || !TimeSpan.TryParseExact(to, @"hh\:mm", CultureInfo.InvariantCulture, out var t))
        {
            r.Error(w, "a time window needs 'from' and 'to' as HH:mm, e.g. { from: \"22:00\", to: \"08:00\" }");
            return null;
        }
        var mode = r.String(w, "mode") ?? "defer";
        if (mode is not ("defer" or "drop"))
        {
            r.Error(w, $"'mode' must be defer or drop, not '{mode}'");
        }
        return new TimeWindow(f, t, mode == "drop");
    }

    private static PauseSpec? ReadPause(NodeReader r, YamlMappingNode? p)
    {
        if (p is null)
        {
            return null;
        }
        r.Known(p, "after", "for");
        var after = r.Int(p, "after");
        if (after is null or < 1)
        {
            r.Error(p, "a pause needs 'after' of 1 or more");
            return null;
        }
        return new PauseSpec(after.Value, r.Duration(p, "for", required: true));
    }

    private static int Line(YamlNode n) => NodeReader.Line(n);
}
