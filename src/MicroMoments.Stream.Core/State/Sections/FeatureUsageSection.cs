using static MicroMoments.Stream.Core.State.StateBounds;

namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 4, feature use: the use count per feature (least recently used first) and the last feature used.</summary>
internal sealed class FeatureUsageSection : StateSection
{
    private const int Counts = 1, Last = 2;

    public override int Id => 4;

    public override bool Keep => true;

    public override bool IsEmpty(UserState s) => s.FeatureCounts is null && s.LastFeature is null;

    public override void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.FeatureCounts is null ? 0 : Counts) | (s.LastFeature is null ? 0 : Last)));
        if (s.FeatureCounts is { } features)
        {
            w.Map(features, shared: true);
        }
        w.SharedIfSet(s.LastFeature);
    }

    public override void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & Counts) != 0)
        {
            s.FeatureCounts = r.OrderedStringMap(static (ref StateReader x) => (int)x.VarInt(), shared: true);
        }
        s.LastFeature = (flags & Last) != 0 ? r.Shared() : null;
    }

    public override int Evict(UserState s, StateLimits limits) => EvictOldest(s.FeatureCounts, limits.MaxFeatures);

    public override long UpperBoundBytes(UserState s) => MaxStringBytes(s.LastFeature) + MaxNumbersByNameBytes(s.FeatureCounts);

    public override int TrimRank => StateTrimOrder.LeastRecentlyUsed;

    public override int Trimmable(UserState s) => s.FeatureCounts?.Count ?? 0;

    public override long TrimOldest(UserState s) => 3 + RemoveLeastRecent(s.FeatureCounts!).Length;

    /// <summary>Counts add up; a feature only the anonymous user used comes in as the least recent, while there is room.</summary>
    public override void Merge(UserState into, UserState from, StateLimits limits)
    {
        if (from.FeatureCounts is { } features)
        {
            into.FeatureCounts ??= new OrderedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (k, v) in features)
            {
                var i = into.FeatureCounts.IndexOf(k);
                if (i >= 0)
                {
                    into.FeatureCounts.SetAt(i, into.FeatureCounts.GetAt(i).Value + v);
                }
                else if (into.FeatureCounts.Count < limits.MaxFeatures)
                {
                    into.FeatureCounts.Insert(0, k, v); // older than anything the identified user touched
                }
            }
        }
        into.LastFeature ??= from.LastFeature;
    }
}
