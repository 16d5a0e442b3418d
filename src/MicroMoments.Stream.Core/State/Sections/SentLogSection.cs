namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>Section 16, the sent log: interventions emitted, for caps, cooldowns and progressive disclosure.</summary>
internal sealed class SentLogSection : IStateSection
{
    private const int HasTip = 1, Tip = 2;

    public int Id => 16;

    public bool Keep => true;

    public bool IsEmpty(UserState s) => s.Sent is null;

    public void Write(StateWriter w, UserState s)
    {
        var sent = s.Sent!;
        w.Count(sent.Count);
        foreach (var x in sent)
        {
            w.Byte((byte)((x.Tip is null ? 0 : HasTip) | (x.Tip == true ? Tip : 0)));
            w.Time(x.At);
            w.Shared(x.RuleId);
            w.Shared(x.Channel);
            w.Shared(x.Category);
        }
    }

    public void Read(ref StateReader r, UserState s)
    {
        var n = r.Count();
        var sent = new List<SentRecord>(n);
        for (var i = 0; i < n; i++)
        {
            var flags = r.Byte();
            var at = r.Time();
            sent.Add(new SentRecord(at, r.Shared(), r.Shared(), r.Shared(), (flags & HasTip) != 0 ? (flags & Tip) != 0 : null));
        }
        s.Sent = sent;
    }
}
