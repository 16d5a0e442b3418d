using System.Security.Cryptography;
using System.Text;
using MicroMoments.Stream.Core.Rules;
using MicroMoments.Stream.Core.Simulation;
using MicroMoments.Stream.Core.State;
using Xunit.Abstractions;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// The alias merge (<see cref="UserMerge"/>) and the state bounds (<see cref="StateBounds"/>) over rich states, against
/// results recorded in <c>merge-and-bounds.golden</c> before they were split into the sections: the example users under the
/// default and the tighter-caps rules, the valid fuzz seeds, an every-field state, one with the later sections and a
/// hostile one. A line is a case, the hash of everything it produced (stored bytes, JSON, counts, flags) and a summary.
/// Set <c>MM_UPDATE_GOLDEN=1</c> to record them again after a change that means to change them.
/// </summary>
public sealed class MergeAndBoundsGoldenTests(ITestOutputHelper output)
{
    private const long T = 1_795_000_000_000;

    private static readonly string GoldenPath =
        Path.Combine(DocsLinksTests.Root, "tests", "MicroMoments.Stream.Core.Tests", "State", "merge-and-bounds.golden");

    [Fact]
    public void MergeAndEnforce_RichStates_SameResultsAsRecorded()
    {
        var cases = Cases().ToList();
        var actual = cases.Select(c => $"{c.Name} {Hash(c.Text)} {c.Summary}").ToList();
        if (Environment.GetEnvironmentVariable("MM_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllLines(GoldenPath, actual);
            return;
        }

        var expected = File.ReadAllLines(GoldenPath);

        foreach (var (line, c) in actual.Zip(cases).Where(x => !expected.Contains(x.First)).Take(3))
        {
            output.WriteLine($"differs: {line}\n{c.Text}");
        }
        Assert.Equal(expected, actual);
    }

    /// <summary>Every case: its name, what it produced in full, and a short summary for the golden file.</summary>
    private static IEnumerable<(string Name, string Text, string Summary)> Cases()
    {
        var states = States();
        foreach (var (name, stored) in states)
        {
            yield return UpperBound(name, stored);
            yield return TrimTrace(name, stored);
            foreach (var (limitsName, limits) in Limits(StateContainer.SerializedSize(Read(stored))))
            {
                yield return Enforce($"{name} enforce {limitsName}", stored, limits);
            }
        }
        var byName = states.ToDictionary(s => s.Name, s => s.Stored, StringComparer.Ordinal);
        var small = new StateLimits { MaxTraits = 1, MaxFeatures = 1, MaxTasks = 1, MaxTimers = 1, MaxStateBytes = 1_000 };
        foreach (var (into, from) in new[] { ("full", "later"), ("later", "full"), ("new", "full"), ("full", "new"), ("later", "hostile"), ("hostile", "later"), ("hostile+kept", "later+kept") })
        {
            yield return Merge($"merge {from} into {into}", byName[into], byName[from], null);
            yield return Merge($"merge {from} into {into} small", byName[into], byName[from], small);
        }
        yield return Merge("merge full into full", byName["full"], byName["full"], null);
        foreach (var set in new[] { "default", "tight" })
        {
            var users = states.Where(s => s.Name.StartsWith($"{set}:", StringComparison.Ordinal)).ToList();
            for (var i = 0; i < users.Count; i++)
            {
                var next = users[(i + 1) % users.Count];
                yield return Merge($"merge {next.Name} into {users[i].Name}", users[i].Stored, next.Stored, null);
                yield return Merge($"merge later into {users[i].Name}", users[i].Stored, byName["later"], null);
                yield return Merge($"merge {users[i].Name} into later", byName["later"], users[i].Stored, small);
            }
        }
    }

    private static (string, string, string) UpperBound(string name, byte[] stored)
    {
        var bound = StateBounds.UpperBoundBytes(Read(stored));
        return ($"{name} upper-bound", bound.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{bound}");
    }

    private static (string, string, string) TrimTrace(string name, byte[] stored)
    {
        var state = Read(stored);
        var freed = new List<long>();
        while (StateBounds.TrimOldest(state) is var f && f > 0)
        {
            freed.Add(f);
        }
        return ($"{name} trim-all", $"{string.Join(',', freed)}\n{Describe(state)}", $"pieces={freed.Count} freed={freed.Sum()}");
    }

    private static (string, string, string) Enforce(string name, byte[] stored, StateLimits limits)
    {
        var state = Read(stored);
        var (evicted, trimmed) = StateBounds.Enforce(state, limits);
        return (name, $"{evicted} {trimmed}\n{Describe(state)}", $"evicted={evicted} trimmed={trimmed} bytes={StateContainer.SerializedSize(state)}");
    }

    /// <summary>As <c>RuleEngine.MergeAlias</c> does it: the merge, then the bounds on the merged state.</summary>
    private static (string, string, string) Merge(string name, byte[] intoStored, byte[] fromStored, StateLimits? limits)
    {
        var (into, from) = (Read(intoStored), Read(fromStored));
        if (from.UserId == into.UserId && !name.EndsWith("full into full", StringComparison.Ordinal))
        {
            from.UserId += "-anonymous";
        }
        var tombstone = UserMerge.Merge(into, from, limits);
        var (evicted, trimmed) = StateBounds.Enforce(into, limits ?? new StateLimits());
        var text = $"{ReferenceEquals(tombstone, from)} {into.ReindexTimers} {tombstone.ReindexTimers} {evicted} {trimmed}\n"
            + $"{Describe(into)}\n{Describe(tombstone)}\n{Describe(from)}";
        return (name, text, $"evicted={evicted} trimmed={trimmed} into={StateContainer.SerializedSize(into)} tombstone={StateContainer.SerializedSize(tombstone)}");
    }

    /// <summary>The JSON view and the stored bytes (which also hold the kept sections of a newer version).</summary>
    private static string Describe(UserState s) =>
        $"{Encoding.UTF8.GetString(UserStateSerializer.ToJson(s))}\n{Convert.ToBase64String(UserStateSerializer.Serialize(s))}";

    private static IEnumerable<(string, StateLimits)> Limits(int size) =>
    [
        ("default", new StateLimits()),
        ("counts", new StateLimits { MaxTraits = 1, MaxFeatures = 1, MaxTasks = 1, MaxTimers = 1 }),
        ("bytes-3/4", new StateLimits { MaxStateBytes = size * 3 / 4 }),
        ("bytes-1/2", new StateLimits { MaxStateBytes = size / 2 }),
        ("bytes-1/4", new StateLimits { MaxStateBytes = size / 4 }),
        ("bytes-64", new StateLimits { MaxStateBytes = 64 }),
    ];

    private static UserState Read(byte[] stored) => UserStateSerializer.Deserialize(stored);

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    /// <summary>Name → stored value (a fresh copy is read for every case).</summary>
    private static List<(string Name, byte[] Stored)> States()
    {
        var states = new List<(string, byte[])>
        {
            ("new", UserStateSerializer.Serialize(new UserState { UserId = "u-new", Anonymous = true })),
            ("full", UserStateSerializer.Serialize(UserStateSerializerTests.Full())),
            ("later", UserStateSerializer.Serialize(Later())),
            ("hostile", UserStateSerializer.Serialize(Hostile())),
        };
        foreach (var (name, stored) in states.ToList())
        {
            var kept = CorruptStates.Container([.. CorruptStates.Sections(stored), ((40UL << 1) | 1, new byte[700]), ((42UL << 1) | 1, [0x01, 0x02])]);
            states.Add(($"{name}+kept", kept));
        }
        foreach (var seed in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "state"), "valid-*").Order(StringComparer.Ordinal))
        {
            states.Add(($"seed:{Path.GetFileName(seed)}", UserStateSerializer.Serialize(UserStateSerializer.Read(File.ReadAllBytes(seed), "f-1"))));
        }
        var tight = RuleSetLoader.LoadFile(Path.Combine(DocsLinksTests.Root, "docs", "examples", "tighter-caps.rules.yaml"));
        foreach (var (set, rules) in new[] { ("default", Scenario.Defaults), ("tight", tight) })
        {
            var simulation = new OfflineSimulation(rules);
            foreach (var line in NdjsonLines.Read(File.ReadAllBytes(Path.Combine(DocsLinksTests.Root, "docs", "examples", "events.ndjson"))))
            {
                _ = simulation.Feed(line.Bytes, line.Number, "events.ndjson");
            }
            foreach (var (id, user) in simulation.Users.OrderBy(u => u.Key, StringComparer.Ordinal))
            {
                states.Add(($"{set}:{id}", UserStateSerializer.Serialize(user)));
            }
        }
        return states;
    }

    /// <summary>
    /// What <see cref="UserStateSerializerTests.Full"/> lacks (attributes, the schedule, waiting entries, unserved crossings,
    /// event time), an anonymous user, and overlaps with it in every keyed field, so a merge meets each conflict.
    /// </summary>
    internal static UserState Later() => new()
    {
        UserId = "anon-7",
        Anonymous = true,
        Watermarks = new(StringComparer.Ordinal) { ["clickstream/1"] = 77 },
        FirstSeenAt = T - 90_000_000,
        LastEventAt = T + 120_000,
        Device = "desktop",
        Traits = new(StringComparer.Ordinal) { ["name"] = "Anon", ["referrer"] = "ads", ["utm"] = "spring" },
        Attributes = new(StringComparer.Ordinal) { ["location.city"] = "Lyon", ["group.id"] = "g-1" },
        FeatureCounts = new(StringComparer.Ordinal) { ["reports"] = 4, ["automations"] = 2, ["dashboard"] = 1 },
        LastFeature = "automations",
        EngagementPoints = new() { [20_701] = 3, [20_702] = 7 },
        LastActiveDay = 20_690,
        StreakDays = 5,
        SessionStartedAt = T + 100_000,
        LastSessionMs = 300_000,
        TaskDurations = new(StringComparer.Ordinal) { ["import"] = 9_000, ["export"] = 50_000 },
        FastCompletions = 2,
        OnboardingStep = 4,
        OnboardingTotal = 5,
        RetentionMarks = 0b11,
        RetentionGroups = [new RetentionGroup { RuleId = "tip", Arm = "treated", Anchor = T + 50, Marks = 2 }],
        Interventions =
        [
            new InterventionRecord { Id = "a-1", RuleId = "cart-abandoned", At = T - 700, Status = "delivered", Counted = FeedbackKinds.Delivered },
            new InterventionRecord { Id = "a-2", RuleId = "tip", At = T + 50, Variant = "long" },
        ],
        Dismissals = new(StringComparer.Ordinal) { ["help-center-demo"] = 1, ["tip"] = 2 },
        RulePausedUntil = new(StringComparer.Ordinal) { ["cart-abandoned"] = T + 7_200_000, ["tip"] = T + 60_000 },
        UserDismissals = 1,
        UserPausedUntil = T + 1_000,
        AutoPausedAt = T + 20,
        BanditArms = new(StringComparer.Ordinal) { ["checkout-nudge"] = "later" },
        LastSeen = new(StringComparer.Ordinal) { ["signed up"] = T - 90_000_000, ["trial started | where properties.plan equals pro"] = T - 5_000, ["page"] = T + 120_000 },
        RecentIds = [1, 2, 3, int.MaxValue],
        Windows = new(StringComparer.Ordinal)
        {
            ["setup-task-failing|a"] = [new WindowHit(T - 7000, "x1"), new WindowHit(T - 3000, "x2")],
            ["setup-task-failing|b"] = [new WindowHit(T - 9000, "x3")],
        },
        Timers =
        [
            new PendingTimer { Id = "~idle", DueAt = T + 1_020_000, ArmedBy = "x2" },
            new PendingTimer { Id = "welcome-dwell", DueAt = T + 90_000, ArmedBy = "x1" },
        ],
        Sent = [new SentRecord(T - 700, "cart-abandoned", "email", "retention"), new SentRecord(T + 50, "tip", "in_app", "education", true)],
        IndexedDueAt = T + 90_000,
        ActiveHours = [0x21, 0, 0, 0, 0, 0, 0, 0, 0x0F, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
        ActiveHoursPeriod = 1386,
        PendingDeliveries =
        [
            new PendingDelivery { InterventionId = "a-1", RuleId = "cart-abandoned", Channel = "email", DeliverAfter = T + 3_600_000, Per = "c1" },
            new PendingDelivery { InterventionId = "a-0", RuleId = "tip", Channel = "in_app", DeliverAfter = T + 60_000, UserId = "older-anon" },
        ],
        Waiting =
        [
            new WaitingDelivery
            {
                InterventionId = "w-1", RuleId = "tip", Channel = "in_app", Priority = 3, Slot = T + 3_600_000, ExpiresAt = T + 7_200_000,
                Blocked = "hourly_cap", TriggerAt = T, TriggerKind = "event", EventIds = ["x2"], Details = new(StringComparer.Ordinal) { ["feature"] = "reports" },
                Title = "Try reports", Body = "Reports — now with charts ✓", Intent = "education", Crossing = "tip|reports",
            },
        ],
        UnservedCrossings = ["feature-milestone|reports", "streak-3"],
        EventTime = new EventTimeState
        {
            ActiveDays = 0b1011,
            MissingSeen = new(StringComparer.Ordinal) { ["cart-abandoned|c1"] = T - 1_000 },
            FiredGroups = [new FiredGroup("setup-task-failing|a", [new WindowHit(T - 7000, "x1"), new WindowHit(T - 3000, "x2")])],
        },
        Behaviour = new BehaviourCounts { Events = 9, ActiveDays = 2, LastDay = 20_702, FinishedSessions = 1, FinishedSessionMs = 300_000, TaskFailures = 1 },
    };

    /// <summary>A user far over every bound: hundreds of long traits, features, tasks and window hits, and a long history.</summary>
    internal static UserState Hostile()
    {
        var s = UserStateSerializerTests.Full();
        s.UserId = "hostile";
        for (var i = 0; i < 300; i++)
        {
            var name = $"{i}-{new string('h', 20 + (i % 7 * 30))}";
            s.Traits![name] = name;
            s.FeatureCounts![name] = i;
            s.TaskDurations![name] = 1_000 + i;
            var window = $"w{i % 40}";
            if (!s.Windows!.TryGetValue(window, out var hits))
            {
                s.Windows[window] = hits = [];
            }
            hits.Add(new WindowHit(T - (i * 7_919 % 100_000), $"e-{i}"));
            s.Sent!.Add(new SentRecord(T - (i * 104_729 % 1_000_000), $"rule-{i % 9}", "in_app", "conversion"));
            s.EngagementPoints![20_000 + i] = i % 5;
        }
        for (var i = 0; i < 16; i++)
        {
            s.Interventions!.Add(new InterventionRecord { Id = $"iv-{i}", RuleId = $"rule-{i % 9}", At = T - (i * 3_000) });
        }
        for (var i = 0; i < 70; i++)
        {
            s.Timers!.Add(new PendingTimer { Id = $"dwell|{i}", OwnRuleId = "dwell", DueAt = T + (i * 65_537 % 900_000), ArmedBy = $"e-{i}" });
        }
        // Full schedules: a merge into this user goes over each count bound.
        for (var i = 0; i < 16; i++)
        {
            (s.PendingDeliveries ??= []).Add(new PendingDelivery { InterventionId = $"iv-{i}", RuleId = $"rule-{i}", Channel = "push", DeliverAfter = T + (i * 7_777 % 50_000) });
        }
        for (var i = 0; i < 8; i++)
        {
            (s.Waiting ??= []).Add(new WaitingDelivery { InterventionId = $"w-{i}", RuleId = $"rule-{i}", Channel = "push", Slot = T + i, Title = "t", Body = "b" });
            (s.UnservedCrossings ??= []).Add($"rule-{i}");
        }
        return s;
    }
}
