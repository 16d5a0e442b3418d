namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 4, feature use: the use count per feature (least recently used first) and the last feature used.</summary>
internal sealed class FeatureUsageSection : IStateSection
{
    private const int Counts = 1, Last = 2;

    public int Id => 4;

    public bool Keep => true;

    public bool IsEmpty(UserState s) => s.FeatureCounts is null && s.LastFeature is null;

    public void Write(StateWriter w, UserState s)
    {
        w.VarUInt((ulong)((s.FeatureCounts is null ? 0 : Counts) | (s.LastFeature is null ? 0 : Last)));
        if (s.FeatureCounts is { } features)
        {
            w.Map(features, shared: true);
        }
        w.SharedIfSet(s.LastFeature);
    }

    public void Read(ref StateReader r, UserState s)
    {
        var flags = r.VarUInt();
        if ((flags & Counts) != 0)
        {
            s.FeatureCounts = r.OrderedStringMap(static (ref StateReader x) => (int)x.VarInt(), shared: true);
        }
        s.LastFeature = (flags & Last) != 0 ? r.Shared() : null;
    }
}
