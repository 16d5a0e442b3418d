using System.Text;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>
/// Stored values that are not a readable state of the user they are stored under: the forms an operator or a bug can leave in
/// Redis. Shared by the serializer tests, the live-worker tests (linked into the integration tests) and the fuzz seeds.
/// </summary>
public static class CorruptStates
{
    /// <summary>Name → the stored bytes for <paramref name="userId"/>.</summary>
    public static IReadOnlyList<(string Name, byte[] Value)> For(string userId)
    {
        var state = new UserState
        {
            UserId = userId,
            LastEventAt = 1_795_000_000_000,
            Traits = new(StringComparer.Ordinal) { ["name"] = "Ada" },
            Timers = [new PendingTimer { Id = "welcome-dwell", DueAt = 1_795_000_090_000, ArmedBy = "e-1" }],
        };
        var valid = UserStateSerializer.Serialize(state, UserStateFormat.Binary);
        var sections = Sections(UserStateSerializer.Serialize(state, UserStateFormat.Container));
        var timers = sections[^1];
        return
        [
            ("garbage", Encoding.ASCII.GetBytes("GARBAGE")),
            ("unknown-format", [0x07, 0x01, 0x02, 0x03]),
            ("truncated-binary", valid[..(valid.Length / 2)]),
            ("future-state-bit", WithFutureBit(valid)),
            ("json-other-user", Encoding.UTF8.GetBytes("""{"UserId":"someone-else"}""")),
            ("json-names-another-user", Encoding.UTF8.GetBytes("""{"u":"someone-else","wm":{}}""")),
            ("json-null-watermarks", Encoding.UTF8.GetBytes($$"""{"u":"{{userId}}","wm":null}""")),
            ("json-wrong-type", Encoding.UTF8.GetBytes($$"""{"u":"{{userId}}","wm":{},"t":"soon"}""")),
            ("json-null-entry", Encoding.UTF8.GetBytes($$"""{"u":"{{userId}}","wm":{},"iv":[null]}""")),
            ("json-cut", Encoding.UTF8.GetBytes($$"""{"u":"{{userId}}","wm":{"clicks""")),
            ("json-null", Encoding.UTF8.GetBytes("null")),
            ("empty", []),
            ("container-cut", Container(sections)[..^1]),
            ("container-duplicate-section", Container([.. sections, timers])),
            ("container-overrun", ContainerWithLengths([.. sections[..^1].Select(x => (x.Key, x.Payload, x.Payload)), (timers.Key, timers.Payload, [.. timers.Payload, 0x00])])),
            ("container-section-not-consumed", Container([.. sections[..^1], (timers.Key, [.. timers.Payload, 0x00])])),
            ("container-no-header", Container(sections[1..])),
            ("container-name-not-in-table", Container([.. sections[..^1], (timers.Key, [.. timers.Payload[..3], 0x7D, .. timers.Payload[4..]])])),
        ];
    }

    /// <summary>The sections of a format-2 value (version byte 2): each key and payload, in order.</summary>
    public static List<(ulong Key, byte[] Payload)> Sections(byte[] container)
    {
        var sections = new List<(ulong, byte[])>();
        var at = 1;
        while (at < container.Length)
        {
            var key = VarUInt(container, ref at);
            var length = (int)VarUInt(container, ref at);
            sections.Add((key, container[at..(at + length)]));
            at += length;
        }
        return sections;
    }

    /// <summary>A format-2 value of <paramref name="sections"/>, written as given (the payload's length is taken as is).</summary>
    public static byte[] Container(IEnumerable<(ulong Key, byte[] Payload)> sections) =>
        ContainerWithLengths(sections.Select(x => (x.Key, x.Payload, x.Payload)));

    /// <summary>As <see cref="Container"/>, each section with the length of <c>LengthOf</c> (to lie about it).</summary>
    private static byte[] ContainerWithLengths(IEnumerable<(ulong Key, byte[] Payload, byte[] LengthOf)> sections)
    {
        var bytes = new List<byte> { 2 };
        foreach (var (key, payload, lengthOf) in sections)
        {
            AddVarUInt(bytes, key);
            AddVarUInt(bytes, (ulong)lengthOf.Length);
            bytes.AddRange(payload);
        }
        return [.. bytes];
    }

    private static ulong VarUInt(byte[] data, ref int at)
    {
        ulong v = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }
    }

    private static void AddVarUInt(List<byte> bytes, ulong v)
    {
        for (; v >= 0x80; v >>= 7)
        {
            bytes.Add((byte)(v | 0x80));
        }
        bytes.Add((byte)v);
    }

    /// <summary>
    /// A format-1 state as a newer version of format 1 would write it: a field bit this version does not know (40), with a payload after the known
    /// fields. This version cannot skip the payload, so the value is unreadable here.
    /// </summary>
    private static byte[] WithFutureBit(byte[] valid)
    {
        ulong has = 0;
        var at = 1;
        for (var shift = 0; ; shift += 7)
        {
            var b = valid[at++];
            has |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }
        has |= 1UL << 40;
        var bytes = new List<byte> { valid[0] };
        for (var v = has; ; v >>= 7)
        {
            if (v < 0x80)
            {
                bytes.Add((byte)v);
                break;
            }
            bytes.Add((byte)(v | 0x80));
        }
        bytes.AddRange(valid[at..]);
        bytes.AddRange([0x03, 0x0A, 0x0B, 0x0C]);
        return [.. bytes];
    }
}
