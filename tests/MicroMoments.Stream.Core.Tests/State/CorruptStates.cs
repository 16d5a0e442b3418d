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
        var valid = UserStateSerializer.Serialize(new UserState
        {
            UserId = userId,
            LastEventAt = 1_795_000_000_000,
            Traits = new(StringComparer.Ordinal) { ["name"] = "Ada" },
            Timers = [new PendingTimer { Id = "welcome-dwell", DueAt = 1_795_000_090_000, ArmedBy = "e-1" }],
        });
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
        ];
    }

    /// <summary>
    /// A state as a newer version would write it: a field bit this version does not know (40), with a payload after the known
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
