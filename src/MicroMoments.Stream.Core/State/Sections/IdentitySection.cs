using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 3, who the user is: first visit, sign-up, device, time zone, traits, attributes and alias state.</summary>
internal sealed class IdentitySection : StateSection
{
    private const int FirstSeen = 1, Device = 2, Timezone = 4, Traits = 8, SignedUp = 16, Attributes = 32, Anonymous = 64,
        MergedInto = 128;

    // 256 was the week-1 retention flag of older versions: read and dropped (RetentionSection keeps the marks now).

    public override int Id => 3;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => Flags(s) == 0;

    private static int Flags(UserState s) =>
        (s.FirstSeenAt != 0 ? FirstSeen : 0) | (s.Device is null ? 0 : Device) | (s.Timezone is null ? 0 : Timezone)
        | (s.Traits is null ? 0 : Traits) | (s.SignedUpAt is null ? 0 : SignedUp) | (s.Attributes is null ? 0 : Attributes)
        | (s.Anonymous ? Anonymous : 0) | (s.MergedInto is null ? 0 : MergedInto);

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)Flags(s));
        if (s.FirstSeenAt != 0)
        {
            w.Time(s.FirstSeenAt);
        }
        w.StringIfSet(s.Device);
        w.StringIfSet(s.Timezone);
        if (s.Traits is { } traits)
        {
            w.Map(traits);
        }
        if (s.SignedUpAt is { } signedUp)
        {
            w.Time(signedUp);
        }
        if (s.Attributes is { } attributes)
        {
            w.Map(attributes);
        }
        w.StringIfSet(s.MergedInto);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        bool Has(int flag) => (flags & (ulong)flag) != 0;
        if (Has(FirstSeen))
        {
            s.FirstSeenAt = r.Time();
        }
        s.Device = Has(Device) ? r.String() : null;
        s.Timezone = Has(Timezone) ? r.String() : null;
        if (Has(Traits))
        {
            s.Traits = r.OrderedStringMap(static (ref StateReader x) => x.String());
        }
        if (Has(SignedUp))
        {
            s.SignedUpAt = r.Time();
        }
        if (Has(Attributes))
        {
            s.Attributes = r.OrderedStringMap(static (ref StateReader x) => x.String());
        }
        s.Anonymous = Has(Anonymous);
        s.MergedInto = Has(MergedInto) ? r.String() : null;
    }

    public override int Evict(UserState s, StateLimits limits) => EvictOldest(s.Traits, limits.MaxTraits) + EvictOldest(s.Attributes, limits.MaxTraits);

    public override long UpperBoundBytes(UserState s)
    {
        return MaxStringBytes(s.Device) + MaxStringBytes(s.Timezone) + MaxStringBytes(s.MergedInto) + MaxTextsByNameBytes(s.Traits)
            + MaxTextsByNameBytes(s.Attributes);
    }

    public override int TrimRank => StateTrimOrder.LeastRecentlyUsed;

    // Traits only: attributes are bounded in number, never trimmed for size.
    public override int Trimmable(UserState s) => s.Traits?.Count ?? 0;

    public override long TrimOldest(UserState s)
    {
        var (k, v) = s.Traits!.GetAt(0);
        s.Traits.RemoveAt(0);
        return 2 + k.Length + v.Length;
    }

    // The identified user's own Anonymous and MergedInto stay as they are.
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        into.FirstSeenAt = Earliest(into.FirstSeenAt, from.FirstSeenAt);
        into.SignedUpAt = into.SignedUpAt is { } a && from.SignedUpAt is { } b ? Math.Min(a, b) : into.SignedUpAt ?? from.SignedUpAt;
        into.Device ??= from.Device;
        into.Timezone ??= from.Timezone;
        into.Traits = UserMerge.Older(from.Traits, into.Traits, limits.MaxTraits);
        into.Attributes = UserMerge.Older(from.Attributes, into.Attributes, limits.MaxTraits);
    }

    private static long Earliest(long a, long b) => a == 0 ? b : b == 0 ? a : Math.Min(a, b);
}
