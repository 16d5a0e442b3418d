using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MicroMoments.Stream.Core.State;

/// <summary>
/// The primitives both binary formats write: zigzag varints, times as deltas from <see cref="Base"/>, names that recur, and
/// strings (a lower-case UUID in 16 bytes). A reusable buffer: <see cref="Reset"/> before each value.
/// </summary>
/// <remarks>
/// A string starts with a header: (length &lt;&lt; 2) literal UTF-8; (index &lt;&lt; 2) | 1 the index-th shared name; 2 a lower-case
/// UUID in 16 bytes. Only names that recur (rule ids, channels, categories, features) are shared: a short list to search.
/// In format 1 a name is written literally the first time and referred to after; in format 2 (<see cref="NamesInHeader"/>)
/// every name is a reference into the table the header section lists, so that any section can be read, or skipped, alone.
/// </remarks>
internal sealed class StateWriter
{
    public const int LiteralKind = 0, BackReference = 1, Uuid = 2;
    public const int MaxShared = 32;

    private byte[] _buffer = new byte[1024];
    private int _length;
    private readonly string[] _shared = new string[MaxShared];
    private int _sharedCount;

    /// <summary>Times are written as deltas from this (the latest event time, as a rule).</summary>
    public long Base { get; set; }

    /// <summary>Format 2: a new name joins the table (listed in the header) and is written as a reference at once.</summary>
    public bool NamesInHeader { get; private set; }

    public void Reset(bool namesInHeader)
    {
        _length = 0;
        Array.Clear(_shared, 0, _sharedCount);
        _sharedCount = 0;
        Base = 0;
        NamesInHeader = namesInHeader;
    }

    /// <summary>The names shared so far, in table order.</summary>
    public ReadOnlySpan<string> Names => _shared.AsSpan(0, _sharedCount);

    /// <summary>Starts the table with <paramref name="names"/>, so references written against them stay valid.</summary>
    public void SeedNames(IReadOnlyList<string> names)
    {
        for (var i = 0; i < names.Count && _sharedCount < MaxShared; i++)
        {
            _shared[_sharedCount++] = names[i];
        }
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public int Length => _length;

    private Span<byte> Take(int n)
    {
        if (_length + n > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        }
        var span = _buffer.AsSpan(_length, n);
        _length += n;
        return span;
    }

    public void Byte(byte b) => Take(1)[0] = b;

    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    public void Int32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), v);

    public void VarUInt(ulong v)
    {
        if (_length + 10 > _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        var b = _buffer;
        var i = _length;
        while (v >= 0x80)
        {
            b[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        b[i++] = (byte)v;
        _length = i;
    }

    public static int VarUIntSize(ulong v)
    {
        var n = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            n++;
        }
        return n;
    }

    public void VarInt(long v) => VarUInt((ulong)((v << 1) ^ (v >> 63)));

    public void VarIntIfSet(long v)
    {
        if (v != 0)
        {
            VarInt(v);
        }
    }

    /// <summary>A time, as its delta from <see cref="Base"/>.</summary>
    public void Time(long at) => VarInt(at - Base);

    public void Count(int n) => VarUInt((ulong)n);

    /// <summary>
    /// Where a length-prefixed part starts: pass it to <see cref="EndLengthPrefixed"/> once the part is written. One byte is
    /// kept for the length, which is enough for a part under 128 bytes (most sections); a longer part is moved up.
    /// </summary>
    public int BeginLengthPrefixed()
    {
        Take(1);
        return _length;
    }

    /// <summary>Puts the length of what was written since <paramref name="start"/> in front of it, as a varint.</summary>
    public void EndLengthPrefixed(int start)
    {
        var length = _length - start;
        var prefix = VarUIntSize((ulong)length);
        if (prefix > 1)
        {
            Take(prefix - 1);
            Array.Copy(_buffer, start, _buffer, start + prefix - 1, length);
        }
        var end = _length;
        _length = start - 1;
        VarUInt((ulong)length);
        _length = end;
    }

    /// <summary>A count, then each name (shared or not) with its number less <paramref name="minus"/>.</summary>
    public void Map<T>(Dictionary<string, T> map, bool shared, long minus = 0) where T : IBinaryInteger<T>
    {
        Count(map.Count);
        foreach (var (k, v) in map)
        {
            if (shared)
            {
                Shared(k);
            }
            else
            {
                String(k);
            }
            VarInt(long.CreateTruncating(v) - minus);
        }
    }

    /// <summary>As <see cref="Map{T}(Dictionary{string, T}, bool, long)"/>, in the map's (recency) order.</summary>
    public void Map<T>(OrderedDictionary<string, T> map, bool shared) where T : IBinaryInteger<T>
    {
        Count(map.Count);
        foreach (var (k, v) in map)
        {
            if (shared)
            {
                Shared(k);
            }
            else
            {
                String(k);
            }
            VarInt(long.CreateTruncating(v));
        }
    }

    public void Map(OrderedDictionary<string, string> map)
    {
        Count(map.Count);
        foreach (var (k, v) in map)
        {
            String(k);
            String(v);
        }
    }

    public void Map(Dictionary<string, string> map)
    {
        Count(map.Count);
        foreach (var (k, v) in map)
        {
            String(k);
            String(v);
        }
    }

    public void StringIfSet(string? s)
    {
        if (s is not null)
        {
            String(s);
        }
    }

    public void SharedIfSet(string? s)
    {
        if (s is not null)
        {
            Shared(s);
        }
    }

    /// <summary>A name that may recur in this value: a reference to the shared table when it is (or now joins) there.</summary>
    public void Shared(string s)
    {
        for (var i = 0; i < _sharedCount; i++)
        {
            var seen = _shared[i];
            if (ReferenceEquals(seen, s) || (seen.Length == s.Length && string.Equals(seen, s, StringComparison.Ordinal)))
            {
                VarUInt(((ulong)i << 2) | BackReference);
                return;
            }
        }
        if (_sharedCount < MaxShared)
        {
            _shared[_sharedCount++] = s;
            if (NamesInHeader)
            {
                VarUInt(((ulong)(_sharedCount - 1) << 2) | BackReference);
                return;
            }
        }
        Literal(s);
    }

    public void String(string s)
    {
        if (s.Length == 36 && s[8] == '-' && s[13] == '-' && Guid.TryParseExact(s, "D", out var guid) && !s.AsSpan().ContainsAnyInRange('A', 'F'))
        {
            Byte(Uuid);
            guid.TryWriteBytes(Take(16), bigEndian: true, out _);
            return;
        }
        Literal(s);
    }

    private void Literal(string s)
    {
        var bytes = Encoding.UTF8.GetByteCount(s);
        VarUInt((ulong)bytes << 2 | LiteralKind);
        Encoding.UTF8.GetBytes(s, Take(bytes));
    }
}
