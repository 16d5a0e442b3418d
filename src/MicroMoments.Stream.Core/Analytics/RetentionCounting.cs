using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using MicroMoments.Stream.Core.Decisions;
using MicroMoments.Stream.Core.Events;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Analytics;

/// <summary>
/// The one per-user step behind every retention table (docs/analytics.md, "Retention"): the worker runs it on each event
/// a user's state takes, and <c>report --events</c> runs it on each line of a file, so both keep the same counters.
/// A user is counted at most once per (cohort, day): the marks say which counts were made.
/// </summary>
/// <remarks>
/// Counters live under rule id "" with a UTC day as variant: <c>&lt;day&gt;|active</c> (users whose activity reached that
/// day, in arrival order: the latest such day is where the data ends), <c>&lt;day&gt;|signed_up</c> and <c>&lt;day&gt;|retained_dN</c>
/// (sign-up cohorts), <c>&lt;day&gt;|entered.&lt;arm&gt;:&lt;rule&gt;</c> and <c>&lt;day&gt;|retained_dN.&lt;arm&gt;:&lt;rule&gt;</c>
/// (treated and control users by the day of their first treatment or ghost).
/// </remarks>
public static class RetentionCounting
{
    /// <summary>The days after the sign-up (or first treatment) day at which retention is read.</summary>
    public static readonly ImmutableArray<int> Days = [1, 3, 7, 14, 30];

    public const string Active = "active";
    public const string SignedUp = "signed_up";
    public const string Entered = "entered";

    /// <summary>The mark of a counted sign-up; the day marks are the bits above it, one per entry of <see cref="Days"/>.</summary>
    public const int SignUpMark = 1;

    /// <summary>
    /// The arms a user is counted in at most (one per rule that treated or held them out, and up to three for the program).
    /// Past it a new arm is not entered, so the state stays bounded: only a user in the arms of some 30 rules reaches it.
    /// </summary>
    public const int MaxGroups = 32;

    private const long DayMs = 86_400_000;

    // Counter names are made once, not per count (about 70 B an event on the benchmark's mix otherwise). Days and rule ids
    // are few; the limit only keeps hostile timestamps or endless reloads of renamed rules from growing the caches.
    private const int NameCacheLimit = 4096;
    private static readonly ConcurrentDictionary<long, string> DayNames = new();
    private static readonly ConcurrentDictionary<(int Slot, string Arm, string RuleId), string> ArmMetrics = new();

    private static readonly FrozenSet<string> Feedback = FrozenSet.Create(StringComparer.Ordinal,
        "intervention delivered", "intervention displayed", "intervention clicked", "intervention dismissed", "intervention converted");

    private static readonly string[] RetainedNames = Days.Select(d => $"retained_d{d}").ToArray();

    /// <summary>The counter name of "retained at <see cref="Days"/>[index]".</summary>
    public static string Retained(int index) => RetainedNames[index];

    /// <summary>The UTC calendar day of a Unix time in ms, as a number (days since 1970-01-01).</summary>
    public static long DayNumber(long unixMs)
    {
        var days = Math.DivRem(unixMs, DayMs, out var rest);
        return rest < 0 ? days - 1 : days;
    }

    /// <summary>The UTC calendar day of a Unix time in ms, as the counters name it (yyyy-MM-dd).</summary>
    public static string DayName(long unixMs)
    {
        var day = DayNumber(unixMs);
        if (DayNames.TryGetValue(day, out var name))
        {
            return name;
        }
        name = DateTimeOffset.FromUnixTimeMilliseconds(day * DayMs).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (DayNames.Count < NameCacheLimit)
        {
            DayNames.TryAdd(day, name);
        }
        return name;
    }

    /// <summary>
    /// The counter name of an arm's count: <c>entered.&lt;arm&gt;:&lt;rule&gt;</c> (slot 0) or
    /// <c>retained_dN.&lt;arm&gt;:&lt;rule&gt;</c> (slot i + 1 for <see cref="Days"/>[i]).
    /// </summary>
    private static string ArmMetric(int slot, string arm, string ruleId)
    {
        if (ArmMetrics.TryGetValue((slot, arm, ruleId), out var name))
        {
            return name;
        }
        name = (slot == 0 ? Entered : Retained(slot - 1)) + RetentionArms.Suffix(arm, ruleId);
        if (ArmMetrics.Count < NameCacheLimit)
        {
            ArmMetrics.TryAdd((slot, arm, ruleId), name);
        }
        return name;
    }

    /// <summary>
    /// Whether an event is activity for retention: anything the user did but intervention feedback. Delivery reports are
    /// not the user's doing, and a click exists only for a treated user: counting it would lift the treated side by itself.
    /// </summary>
    public static bool IsActivity(string eventKey) => !Feedback.Contains(eventKey);

    /// <summary>
    /// Counts one activity event of a user into the sign-up cohort counters: activity on a later UTC day than the user's
    /// latest counted (<c>active</c>), the sign-up itself once, and each retention day the event reaches for the first time.
    /// </summary>
    /// <param name="marks">The user's marks (kept in their state); updated.</param>
    /// <param name="signedUpAt">When the user signed up (their first <c>Signed Up</c> event in arrival order), if they did.</param>
    /// <param name="isSignUp">The event is that <c>Signed Up</c> event.</param>
    /// <param name="latestBefore">The user's latest activity counted before this event (0: none).</param>
    /// <param name="at">This event's time.</param>
    /// <param name="result">Where the increments go (its list is made only when there is one).</param>
    private static void Observe(ref int marks, long? signedUpAt, bool isSignUp, long latestBefore, long at, Evaluation result)
    {
        if (latestBefore == 0 || DayNumber(at) > DayNumber(latestBefore))
        {
            result.Stats.Add(new StatIncrement("", DayName(at), Active));
        }
        if (signedUpAt is not { } signedUp)
        {
            return;
        }
        if (isSignUp && at == signedUp)
        {
            if ((marks & SignUpMark) == 0)
            {
                marks |= SignUpMark;
                result.Stats.Add(new StatIncrement("", DayName(signedUp), SignedUp));
            }
            return;
        }
        Retain(ref marks, signedUp, at, null, null, result);
    }

    /// <summary>
    /// Counts the retention days that activity at <paramref name="at"/> reaches for the first time, for a user whose cohort
    /// (or arm) began at <paramref name="anchor"/>: day N is reached on any UTC day at least N days after the anchor's.
    /// </summary>
    /// <remarks>No arm (and rule) for the sign-up cohort; a treated or control arm of a rule otherwise.</remarks>
    private static void Retain(ref int marks, long anchor, long at, string? arm, string? ruleId, Evaluation result)
    {
        var offset = DayNumber(at) - DayNumber(anchor);
        string? day = null;
        for (var i = 0; i < Days.Length && offset >= Days[i]; i++)
        {
            var mark = SignUpMark << (i + 1);
            if ((marks & mark) == 0)
            {
                marks |= mark;
                // Names only for a count made: most events of a user reach no new day.
                result.Stats.Add(new StatIncrement("", day ??= DayName(anchor), arm is null ? Retained(i) : ArmMetric(i + 1, arm, ruleId!)));
            }
        }
    }

    /// <summary>
    /// The worker's step for one event a user's state took (after the state saw it, so with its sign-up): the sign-up
    /// cohort's counts and each arm's retention days.
    /// </summary>
    public static void Observe(UserState state, ClickEvent e, Evaluation result)
    {
        if (!IsActivity(e.Key))
        {
            return;
        }
        var at = e.Timestamp.ToUnixTimeMilliseconds();
        var marks = state.RetentionMarks;
        Observe(ref marks, state.SignedUpAt, IsSignUp(e, state.SignedUpAt), state.RetentionLatest, at, result);
        state.RetentionMarks = marks;
        state.RetentionLatest = Math.Max(state.RetentionLatest, at);
        if (state.RetentionGroups is not { } groups)
        {
            return;
        }
        foreach (var g in groups)
        {
            marks = g.Marks;
            Retain(ref marks, g.Anchor, at, g.Arm, g.RuleId, result);
            g.Marks = marks;
        }
    }

    /// <summary>
    /// Puts the user in the arms a decision names (<see cref="RetentionArms.Of"/>), of its rule and of the program, unless
    /// they are in them already: counted once (<c>entered</c>) on the decision's UTC day, their retention from then on.
    /// </summary>
    public static void Enter(UserState state, Decision d, Evaluation result)
    {
        if (RetentionArms.Of(d) is not { } arm)
        {
            return;
        }
        var at = d.At.ToUnixTimeMilliseconds();
        Enter(state, d.RuleId, arm, at, result);
        Enter(state, RetentionArms.Program, arm, at, result);
    }

    private static void Enter(UserState state, string ruleId, string arm, long at, Evaluation result)
    {
        var groups = state.RetentionGroups ??= [];
        foreach (var g in groups)
        {
            if (g.RuleId == ruleId && g.Arm == arm)
            {
                return;
            }
        }
        if (groups.Count < MaxGroups)
        {
            groups.Add(new RetentionGroup { RuleId = ruleId, Arm = arm, Anchor = at });
            result.Stats.Add(new StatIncrement("", DayName(at), ArmMetric(0, arm, ruleId)));
        }
    }

    /// <summary>Whether the event is the <c>Signed Up</c> event a user's sign-up time was taken from.</summary>
    private static bool IsSignUp(ClickEvent e, long? signedUpAt) =>
        e.Key == EventNames.SignedUp && signedUpAt == e.Timestamp.ToUnixTimeMilliseconds();
}
