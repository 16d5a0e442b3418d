namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Format 1 of the stored <see cref="UserState"/>: a version byte, a bit per field that is set, then the set
/// fields in a fixed order. Integers are zigzag varints; times are deltas from <see cref="UserState.LastEventAt"/>
/// (most are minutes away from it, so 2–4 bytes instead of 13 JSON digits); a string seen before in the same
/// value is a one-byte back-reference (rule ids recur in windows, timers, sent and intervention records) and a
/// lower-case UUID takes 16 bytes. Defaults are left out exactly as in the JSON form, so both read back equal.
/// Replaced by the container (<see cref="StateContainer"/>): still read, and written only with <c>StateFormat=Binary</c>,
/// for versions before the container. It can go once <c>StateTtl</c> has passed since the last release that wrote it.
/// </summary>
internal static class LegacyFormat1
{
    public const byte Version1 = 1;

    // Bit i of the header: field i is present (not its default). The order is the wire order; append only.
    private const int UserIdBit = 0, WatermarksBit = 1, LastEventAtBit = 2, FirstSeenAtBit = 3, SignedUpAtBit = 4, DeviceBit = 5,
        TimezoneBit = 6, TraitsBit = 7, FeatureCountsBit = 8, LastFeatureBit = 9, EngagementPointsBit = 10, LastActiveDayBit = 11,
        StreakDaysBit = 12, SessionStartedAtBit = 13, LastSessionMsBit = 14, SessionBaselineMsBit = 15, TaskDurationsBit = 16,
        FastCompletionsBit = 17, OnboardingStepBit = 18, OnboardingTotalBit = 19, OnboardingCompletedBit = 20, InterventionsBit = 21,
        DismissalsBit = 22, RulePausedUntilBit = 23, AutoPausedAtBit = 24, RetainedWeek1Bit = 25, RecentIdsBit = 26, WindowsBit = 27,
        TimersBit = 28, SentBit = 29, IndexedDueAtBit = 30, AttributesBit = 31, MergedIntoBit = 32, AnonymousBit = 33,
        ActiveHoursBit = 34, PendingDeliveriesBit = 35;

    // Bits 31-33 came with location, group and alias (issue 12). A reader from before them ignores a bit it does not
    // know but cannot skip its payload, so it throws "bytes after the user state" on a value with attributes or a
    // merge: a rolling upgrade from, or a rollback to, such a version needs StateFormat=Json (docs/configuration.md). The anonymous
    // flag has no payload: such a reader reads the rest and drops it (the state then counts as identified).
    // Bits 34 (active hours) and 35 (pending deliveries, issue 14) have payloads too, so the same holds for a reader
    // from before them. Format 1 is frozen at bit 35: later state (the user-wide dismissal pause of issue 19, say) lives in
    // container sections only and is left out here, so a reader from before the container never meets a bit it cannot
    // skip. Likewise an intervention record's flag 128 (the feedback types counted, one byte after it): a record
    // without it, as every earlier version wrote, reads as none counted.

    [ThreadStatic] private static StateWriter? t_writer;

    public static byte[] Serialize(UserState s) => Write(s).ToArray();

    /// <summary>The length of <see cref="Serialize"/>'s result, without copying it.</summary>
    public static int SerializedSize(UserState s) => Write(s).Length;

    private static StateWriter Write(UserState s)
    {
        var w = t_writer ??= new StateWriter();
        w.Reset(namesInHeader: false);
        w.Byte(Version1);
        ulong has = 0;
        void Set(int bit, bool present)
        {
            if (present)
            {
                has |= 1UL << bit;
            }
        }
        Set(UserIdBit, s.UserId is not null);
        Set(WatermarksBit, s.Watermarks is not null);
        Set(LastEventAtBit, s.LastEventAt != 0);
        Set(FirstSeenAtBit, s.FirstSeenAt != 0);
        Set(SignedUpAtBit, s.SignedUpAt.HasValue);
        Set(DeviceBit, s.Device is not null);
        Set(TimezoneBit, s.Timezone is not null);
        Set(TraitsBit, s.Traits is not null);
        Set(FeatureCountsBit, s.FeatureCounts is not null);
        Set(LastFeatureBit, s.LastFeature is not null);
        Set(EngagementPointsBit, s.EngagementPoints is not null);
        Set(LastActiveDayBit, s.LastActiveDay != 0);
        Set(StreakDaysBit, s.StreakDays != 0);
        Set(SessionStartedAtBit, s.SessionStartedAt != 0);
        Set(LastSessionMsBit, s.LastSessionMs != 0);
        Set(SessionBaselineMsBit, s.SessionBaselineMs != 0);
        Set(TaskDurationsBit, s.TaskDurations is not null);
        Set(FastCompletionsBit, s.FastCompletions != 0);
        Set(OnboardingStepBit, s.OnboardingStep != 0);
        Set(OnboardingTotalBit, s.OnboardingTotal != 0);
        Set(OnboardingCompletedBit, s.OnboardingCompleted);
        Set(InterventionsBit, s.Interventions is not null);
        Set(DismissalsBit, s.Dismissals is not null);
        Set(RulePausedUntilBit, s.RulePausedUntil is not null);
        Set(AutoPausedAtBit, s.AutoPausedAt != 0);
        Set(RetainedWeek1Bit, false); // the week-1 retention mark: no longer kept (RetentionMarks is the current format's)
        Set(RecentIdsBit, s.RecentIds is not null);
        Set(WindowsBit, s.Windows is not null);
        Set(TimersBit, s.Timers is not null);
        Set(SentBit, s.Sent is not null);
        Set(IndexedDueAtBit, s.IndexedDueAt.HasValue);
        Set(AttributesBit, s.Attributes is not null);
        Set(MergedIntoBit, s.MergedInto is not null);
        Set(AnonymousBit, s.Anonymous);
        Set(ActiveHoursBit, s.ActiveHours is not null);
        Set(PendingDeliveriesBit, s.PendingDeliveries is not null);
        w.VarUInt(has);

        var at = s.LastEventAt;
        if (s.UserId is not null)
        {
            w.String(s.UserId);
        }
        if (s.Watermarks is { } wm)
        {
            w.Map(wm, shared: false);
        }
        if (at != 0)
        {
            w.VarInt(at);
        }
        if (s.FirstSeenAt != 0)
        {
            w.VarInt(s.FirstSeenAt - at);
        }
        if (s.SignedUpAt is { } signedUp)
        {
            w.VarInt(signedUp - at);
        }
        w.StringIfSet(s.Device);
        w.StringIfSet(s.Timezone);
        if (s.Traits is { } traits)
        {
            w.Map(traits);
        }
        if (s.FeatureCounts is { } features)
        {
            w.Map(features, shared: true);
        }
        if (s.LastFeature is not null)
        {
            w.Shared(s.LastFeature);
        }
        if (s.EngagementPoints is { } points)
        {
            w.Count(points.Count);
            foreach (var (k, v) in points)
            {
                w.VarInt(k);
                w.VarInt(v);
            }
        }
        w.VarIntIfSet(s.LastActiveDay);
        w.VarIntIfSet(s.StreakDays);
        if (s.SessionStartedAt != 0)
        {
            w.VarInt(s.SessionStartedAt - at);
        }
        w.VarIntIfSet(s.LastSessionMs);
        w.VarIntIfSet(s.SessionBaselineMs);
        if (s.TaskDurations is { } durations)
        {
            w.Map(durations, shared: false);
        }
        w.VarIntIfSet(s.FastCompletions);
        w.VarIntIfSet(s.OnboardingStep);
        w.VarIntIfSet(s.OnboardingTotal);
        if (s.Interventions is { } records)
        {
            w.Count(records.Count);
            foreach (var r in records)
            {
                var variant = r.StoredVariant;
                w.Byte((byte)((variant is null ? 0 : 1) | (r.Status is null ? 0 : 2) | (r.Converted is null ? 0 : 4) | (r.Converted == true ? 8 : 0)
                    | (r.ConvertUntil is null ? 0 : 16) | (r.Ghost is null ? 0 : 32) | (r.Ghost == true ? 64 : 0) | (r.Counted == 0 ? 0 : 128)));
                w.String(r.Id);
                w.Shared(r.RuleId);
                w.SharedIfSet(variant);
                w.VarInt(r.At - at);
                w.SharedIfSet(r.Status);
                if (r.ConvertUntil is { } until)
                {
                    w.VarInt(until - at);
                }
                if (r.Counted != 0)
                {
                    w.Byte((byte)r.Counted);
                }
            }
        }
        if (s.Dismissals is { } dismissals)
        {
            w.Map(dismissals, shared: true);
        }
        if (s.RulePausedUntil is { } paused)
        {
            w.Map(paused, shared: true, minus: at);
        }
        if (s.AutoPausedAt != 0)
        {
            w.VarInt(s.AutoPausedAt - at);
        }
        if (s.RecentIds is { } ids)
        {
            // Hashes: random bits, so four fixed bytes beat a varint.
            w.Count(ids.Count);
            foreach (var id in ids)
            {
                w.Int32(id);
            }
        }
        if (s.Windows is { } windows)
        {
            w.Count(windows.Count);
            foreach (var (k, hits) in windows)
            {
                w.String(k);
                if (hits is null)
                {
                    w.VarUInt(0);
                    continue;
                }
                w.VarUInt((ulong)hits.Count + 1); // 0: a null list
                foreach (var h in hits)
                {
                    w.VarInt(h.At - at);
                    w.String(h.EventId);
                }
            }
        }
        if (s.Timers is { } timers)
        {
            w.Count(timers.Count);
            foreach (var t in timers)
            {
                w.Byte((byte)((t.OwnRuleId is null ? 0 : 1) | (t.Details is null ? 0 : 2)));
                w.Shared(t.Id);
                w.SharedIfSet(t.OwnRuleId);
                w.VarInt(t.DueAt - at);
                w.String(t.ArmedBy);
                if (t.Details is { } details)
                {
                    w.Map(details);
                }
            }
        }
        if (s.Sent is { } sent)
        {
            w.Count(sent.Count);
            foreach (var x in sent)
            {
                w.Byte((byte)((x.Tip is null ? 0 : 1) | (x.Tip == true ? 2 : 0)));
                w.VarInt(x.At - at);
                w.Shared(x.RuleId);
                w.Shared(x.Channel);
                w.Shared(x.Category);
            }
        }
        if (s.IndexedDueAt is { } indexed)
        {
            w.VarInt(indexed - at);
        }
        if (s.Attributes is { } attributes)
        {
            w.Map(attributes);
        }
        w.StringIfSet(s.MergedInto);
        if (s.ActiveHours is { } hours)
        {
            // The period, a 24-bit mask of the hours with a count, then one byte per such hour: most users have a few.
            w.VarInt(s.ActiveHoursPeriod);
            var mask = 0;
            for (var h = 0; h < hours.Length && h < 24; h++)
            {
                mask |= hours[h] != 0 ? 1 << h : 0;
            }
            w.Byte((byte)mask);
            w.Byte((byte)(mask >> 8));
            w.Byte((byte)(mask >> 16));
            for (var h = 0; h < 24; h++)
            {
                if ((mask & (1 << h)) != 0)
                {
                    w.Byte(hours[h]);
                }
            }
        }
        if (s.PendingDeliveries is { } pending)
        {
            w.Count(pending.Count);
            foreach (var p in pending)
            {
                w.Byte((byte)((p.Per is null ? 0 : 1) | (p.UserId is null ? 0 : 2)));
                w.String(p.InterventionId);
                w.Shared(p.RuleId);
                w.Shared(p.Channel);
                w.VarInt(p.DeliverAfter - at);
                w.StringIfSet(p.Per);
                w.StringIfSet(p.UserId);
            }
        }
        return w;
    }

    public static UserState Deserialize(ReadOnlySpan<byte> data) => StateReader.Guarded(data, Read);

    private static UserState Read(ReadOnlySpan<byte> data)
    {
        var r = new StateReader(data);
        if (r.Byte() != Version1)
        {
            throw new InvalidDataException($"unknown user state format {data[0]}");
        }
        var has = r.VarUInt();
        bool Has(int bit) => (has & (1UL << bit)) != 0;
        var s = new UserState();
        if (Has(UserIdBit))
        {
            s.UserId = r.String();
        }
        if (Has(WatermarksBit))
        {
            s.Watermarks = r.StringMap(static (ref StateReader x) => x.VarInt());
        }
        var at = Has(LastEventAtBit) ? r.VarInt() : 0;
        s.LastEventAt = at;
        if (Has(FirstSeenAtBit))
        {
            s.FirstSeenAt = at + r.VarInt();
        }
        if (Has(SignedUpAtBit))
        {
            s.SignedUpAt = at + r.VarInt();
        }
        if (Has(DeviceBit))
        {
            s.Device = r.String();
        }
        if (Has(TimezoneBit))
        {
            s.Timezone = r.String();
        }
        if (Has(TraitsBit))
        {
            s.Traits = r.OrderedStringMap(static (ref StateReader x) => x.String());
        }
        if (Has(FeatureCountsBit))
        {
            s.FeatureCounts = r.OrderedStringMap(static (ref StateReader x) => (int)x.VarInt(), shared: true);
        }
        if (Has(LastFeatureBit))
        {
            s.LastFeature = r.Shared();
        }
        if (Has(EngagementPointsBit))
        {
            var n = r.Count();
            var points = new Dictionary<int, int>(n);
            for (var i = 0; i < n; i++)
            {
                points[(int)r.VarInt()] = (int)r.VarInt();
            }
            s.EngagementPoints = points;
        }
        if (Has(LastActiveDayBit))
        {
            s.LastActiveDay = (int)r.VarInt();
        }
        if (Has(StreakDaysBit))
        {
            s.StreakDays = (int)r.VarInt();
        }
        if (Has(SessionStartedAtBit))
        {
            s.SessionStartedAt = at + r.VarInt();
        }
        if (Has(LastSessionMsBit))
        {
            s.LastSessionMs = r.VarInt();
        }
        if (Has(SessionBaselineMsBit))
        {
            s.SessionBaselineMs = r.VarInt();
        }
        if (Has(TaskDurationsBit))
        {
            s.TaskDurations = r.OrderedStringMap(static (ref StateReader x) => x.VarInt());
        }
        if (Has(FastCompletionsBit))
        {
            s.FastCompletions = (int)r.VarInt();
        }
        if (Has(OnboardingStepBit))
        {
            s.OnboardingStep = (int)r.VarInt();
        }
        if (Has(OnboardingTotalBit))
        {
            s.OnboardingTotal = (int)r.VarInt();
        }
        s.OnboardingCompleted = Has(OnboardingCompletedBit);
        if (Has(InterventionsBit))
        {
            var n = r.Count();
            var records = new List<InterventionRecord>(n);
            for (var i = 0; i < n; i++)
            {
                var flags = r.Byte();
                var record = new InterventionRecord { Id = r.String(), RuleId = r.Shared() };
                record.StoredVariant = (flags & 1) != 0 ? r.Shared() : null;
                record.At = at + r.VarInt();
                record.Status = (flags & 2) != 0 ? r.Shared() : null;
                record.Converted = (flags & 4) != 0 ? (flags & 8) != 0 : null;
                record.ConvertUntil = (flags & 16) != 0 ? at + r.VarInt() : null;
                record.Ghost = (flags & 32) != 0 ? (flags & 64) != 0 : null;
                record.Counted = (flags & 128) != 0 ? (FeedbackKinds)r.Byte() : FeedbackKinds.None;
                records.Add(record);
            }
            s.Interventions = records;
        }
        if (Has(DismissalsBit))
        {
            s.Dismissals = r.StringMap(static (ref StateReader x) => (int)x.VarInt(), shared: true);
        }
        if (Has(RulePausedUntilBit))
        {
            s.RulePausedUntil = r.StringMap((ref StateReader x) => at + x.VarInt(), shared: true);
        }
        if (Has(AutoPausedAtBit))
        {
            s.AutoPausedAt = at + r.VarInt();
        }
        if (Has(RecentIdsBit))
        {
            var n = r.Count();
            var ids = new List<int>(n);
            for (var i = 0; i < n; i++)
            {
                ids.Add(r.Int32());
            }
            s.RecentIds = ids;
        }
        if (Has(WindowsBit))
        {
            var n = r.Count();
            var windows = new Dictionary<string, List<WindowHit>>(n, StringComparer.Ordinal);
            for (var i = 0; i < n; i++)
            {
                var key = r.String();
                var count = r.CountOrNull(); // bounded by the bytes left, like every count; -1 is a null list
                if (count < 0)
                {
                    windows[key] = null!;
                    continue;
                }
                var hits = new List<WindowHit>(count);
                for (var j = 0; j < count; j++)
                {
                    var hitAt = at + r.VarInt();
                    hits.Add(new WindowHit(hitAt, r.String()));
                }
                windows[key] = hits;
            }
            s.Windows = windows;
        }
        if (Has(TimersBit))
        {
            var n = r.Count();
            var timers = new List<PendingTimer>(n);
            for (var i = 0; i < n; i++)
            {
                var flags = r.Byte();
                var timer = new PendingTimer { Id = r.Shared() };
                timer.OwnRuleId = (flags & 1) != 0 ? r.Shared() : null;
                timer.DueAt = at + r.VarInt();
                timer.ArmedBy = r.String();
                if ((flags & 2) != 0)
                {
                    timer.Details = r.StringMap(static (ref StateReader x) => x.String());
                }
                timers.Add(timer);
            }
            s.Timers = timers;
        }
        if (Has(SentBit))
        {
            var n = r.Count();
            var sent = new List<SentRecord>(n);
            for (var i = 0; i < n; i++)
            {
                var flags = r.Byte();
                var sentAt = at + r.VarInt();
                sent.Add(new SentRecord(sentAt, r.Shared(), r.Shared(), r.Shared(), (flags & 1) != 0 ? (flags & 2) != 0 : null));
            }
            s.Sent = sent;
        }
        if (Has(IndexedDueAtBit))
        {
            s.IndexedDueAt = at + r.VarInt();
        }
        if (Has(AttributesBit))
        {
            s.Attributes = r.OrderedStringMap(static (ref StateReader x) => x.String());
        }
        if (Has(MergedIntoBit))
        {
            s.MergedInto = r.String();
        }
        s.Anonymous = Has(AnonymousBit);
        if (Has(ActiveHoursBit))
        {
            s.ActiveHoursPeriod = (int)r.VarInt();
            var mask = r.Byte() | r.Byte() << 8 | r.Byte() << 16;
            var hours = new byte[24];
            for (var h = 0; h < 24; h++)
            {
                if ((mask & (1 << h)) != 0)
                {
                    hours[h] = r.Byte();
                }
            }
            s.ActiveHours = hours;
        }
        if (Has(PendingDeliveriesBit))
        {
            var n = r.Count();
            var pending = new List<PendingDelivery>(n);
            for (var i = 0; i < n; i++)
            {
                var flags = r.Byte();
                var p = new PendingDelivery { InterventionId = r.String(), RuleId = r.Shared(), Channel = r.Shared() };
                p.DeliverAfter = at + r.VarInt();
                p.Per = (flags & 1) != 0 ? r.String() : null;
                p.UserId = (flags & 2) != 0 ? r.String() : null;
                pending.Add(p);
            }
            s.PendingDeliveries = pending;
        }
        r.End();
        return s;
    }
}
