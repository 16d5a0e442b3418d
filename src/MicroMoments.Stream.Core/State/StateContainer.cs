using MicroMoments.Stream.Core.State.Sections;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// Format 2 of the stored <see cref="UserState"/>: the byte 2, then sections in id order, each a varint key (the id shifted
/// left by one, the low bit set when a reader that does not know the id should keep it), a varint length and the payload.
/// The header section (<see cref="StateHeader"/>) comes first; empty sections are left out. A reader skips a section it does
/// not know, keeping it (<see cref="UserState.UnknownSections"/>) when its keep bit is set, so a newer version's state
/// survives an older writer. Each section's codec lives in <see cref="StateSections"/>.
/// </summary>
internal static class StateContainer
{
    public const byte Version2 = 2;

    private const int KeepBit = 1;

    [ThreadStatic] private static StateWriter? t_head;
    [ThreadStatic] private static StateWriter? t_body;

    public static byte[] Serialize(UserState s)
    {
        var (head, body) = Write(s);
        var value = new byte[head.Length + body.Length];
        head.Written.CopyTo(value);
        body.Written.CopyTo(value.AsSpan(head.Length));
        return value;
    }

    /// <summary>The length of <see cref="Serialize"/>'s result, without copying it.</summary>
    public static int SerializedSize(UserState s)
    {
        var (head, body) = Write(s);
        return head.Length + body.Length;
    }

    // The header lists the names the other sections refer to, so those are written first (body) and the header after (head).
    private static (StateWriter Head, StateWriter Body) Write(UserState s)
    {
        var body = t_body ??= new StateWriter();
        body.Reset(namesInHeader: true);
        var kept = s.UnknownSections is { Sections.Count: > 0 } k ? k : null;
        body.Base = kept?.TimeBase ?? s.LastEventAt;
        if (kept is not null)
        {
            body.SeedNames(kept.Names);
        }
        var next = 0;
        foreach (var section in StateSections.All)
        {
            next = WriteKept(body, kept, next, section.Id);
            if (section.IsEmpty(s))
            {
                continue;
            }
            body.VarUInt(((ulong)section.Id << 1) | (section.Keep ? KeepBit : 0UL));
            var start = body.BeginLengthPrefixed();
            section.Write(body, s);
            body.EndLengthPrefixed(start);
        }
        WriteKept(body, kept, next, int.MaxValue);

        var head = t_head ??= new StateWriter();
        head.Reset(namesInHeader: false);
        head.Byte(Version2);
        head.VarUInt((ulong)StateSections.HeaderId << 1);
        var headerStart = head.BeginLengthPrefixed();
        StateHeader.Write(head, s, body.Base, body.Names);
        head.EndLengthPrefixed(headerStart);
        return (head, body);
    }

    /// <summary>Writes the kept sections from index <paramref name="next"/> whose id is below <paramref name="id"/>; returns the next index.</summary>
    private static int WriteKept(StateWriter w, KeptSections? kept, int next, int id)
    {
        for (; kept is not null && next < kept.Sections.Count && kept.Sections[next].Key >> 1 < id; next++)
        {
            var (key, payload) = kept.Sections[next];
            w.VarUInt((ulong)key);
            w.VarUInt((ulong)payload.Length);
            w.Bytes(payload);
        }
        return next;
    }

    /// <summary>Reads a format-2 value; throws <see cref="InvalidDataException"/> on anything that is not one.</summary>
    public static UserState Deserialize(ReadOnlySpan<byte> data) => StateReader.Guarded(data, Read);

    private static UserState Read(ReadOnlySpan<byte> data)
    {
        var r = new StateReader(data);
        if (r.Byte() != Version2)
        {
            throw new InvalidDataException($"unknown user state format {data[0]}");
        }
        var s = new UserState();
        List<string>? names = null;
        long timeBase = 0;
        var last = 0;
        List<(int Key, byte[] Payload)>? kept = null;
        while (!r.AtEnd)
        {
            var key = r.VarUInt();
            var length = r.VarUInt();
            if (key >> 1 == 0 || key > int.MaxValue)
            {
                throw new InvalidDataException($"a section id out of range ({key >> 1})");
            }
            var id = (int)(key >> 1);
            if (length > (ulong)r.Remaining)
            {
                throw new InvalidDataException($"section {id} runs {length - (ulong)r.Remaining} bytes past the end of the value");
            }
            var payload = r.Bytes((int)length);
            if (id <= last)
            {
                throw new InvalidDataException(id == last ? $"section {id} twice" : $"section {id} after section {last}");
            }
            if (last == 0 && id != StateSections.HeaderId)
            {
                throw new InvalidDataException($"section {id} before the header");
            }
            last = id;
            if (id == StateSections.HeaderId)
            {
                var header = new StateReader(payload);
                (names, timeBase) = StateHeader.Read(ref header, s);
                Consumed(header, id);
            }
            else if (StateSections.Find(id) is { } section)
            {
                var reader = new StateReader(payload, names!, timeBase);
                section.Read(ref reader, s);
                Consumed(reader, id);
            }
            else if ((key & KeepBit) != 0)
            {
                (kept ??= []).Add(((int)key, payload.ToArray()));
            }
        }
        if (last == 0)
        {
            throw new InvalidDataException("no header section");
        }
        if (kept is not null)
        {
            s.UnknownSections = new KeptSections { TimeBase = timeBase, Names = names!, Sections = kept };
        }
        return s;
    }

    private static void Consumed(in StateReader reader, int id)
    {
        if (!reader.AtEnd)
        {
            throw new InvalidDataException($"section {id} holds {reader.Remaining} bytes its reader did not take");
        }
    }
}
