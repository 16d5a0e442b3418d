using System.Buffers.Binary;
using System.Text;

namespace MicroMoments.Stream.Core.State;

/// <summary>A format's reader of a whole value.</summary>
internal delegate UserState StateValueReader(ReadOnlySpan<byte> data);

/// <summary>Reads what <see cref="StateWriter"/> wrote; throws on bytes that are not such a value (the caller makes that "unreadable").</summary>
internal ref struct StateReader
{
    /// <summary>
    /// Runs a format's reader, turning what running off the end of the bytes or a bad value throws into one
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    public static UserState Guarded(ReadOnlySpan<byte> data, StateValueReader read)
    {
        try
        {
            return read(data);
        }
        catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException)
        {
            throw new InvalidDataException("the user state is truncated or corrupt", ex);
        }
    }

    private readonly ReadOnlySpan<byte> _data;
    private int _at;
    private List<string>? _shared;
    private readonly bool _namesInHeader;

    /// <summary>Format 1: shared names are collected as they are read.</summary>
    public StateReader(ReadOnlySpan<byte> data) => _data = data;

    /// <summary>Format 2: a section, whose names refer to the header's <paramref name="names"/> and times to <paramref name="timeBase"/>.</summary>
    public StateReader(ReadOnlySpan<byte> data, List<string> names, long timeBase)
    {
        _data = data;
        _shared = names;
        _namesInHeader = true;
        Base = timeBase;
    }

    /// <summary>Times are read as deltas from this.</summary>
    public long Base { get; set; }

    public readonly bool AtEnd => _at == _data.Length;

    public readonly int Remaining => _data.Length - _at;

    public byte Byte() => _data[_at++];

    public ReadOnlySpan<byte> Bytes(int n)
    {
        var bytes = _data.Slice(_at, n);
        _at += n;
        return bytes;
    }

    public int Int32()
    {
        var v = BinaryPrimitives.ReadInt32LittleEndian(_data[_at..]);
        _at += 4;
        return v;
    }

    public ulong VarUInt()
    {
        ulong v = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = _data[_at++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }
        throw new InvalidDataException("varint too long");
    }

    public long VarInt()
    {
        var v = VarUInt();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    public long Time() => Base + VarInt();

    /// <summary>A count written plus one, 0 standing for a null list: -1 for that, else the count, bounded like <see cref="Count"/>.</summary>
    public int CountOrNull()
    {
        var n = VarUInt();
        return n == 0 ? -1 : n - 1 > (ulong)(_data.Length - _at) ? throw new InvalidDataException("count beyond the value") : (int)(n - 1);
    }

    public int Count()
    {
        var n = VarUInt();
        return n > (ulong)(_data.Length - _at) ? throw new InvalidDataException("count beyond the value") : (int)n;
    }

    public string String() => Read(shared: false);

    public string Shared() => Read(shared: true);

    private string Read(bool shared)
    {
        var header = VarUInt();
        string s;
        switch ((int)(header & 3))
        {
            case StateWriter.BackReference when shared && _shared is not null:
                var index = header >> 2;
                return index < (ulong)_shared.Count ? _shared[(int)index] : throw new InvalidDataException("a name beyond the shared table");
            case StateWriter.Uuid:
                s = new Guid(_data.Slice(_at, 16), bigEndian: true).ToString("D");
                _at += 16;
                break;
            case StateWriter.LiteralKind:
                var length = (int)(header >> 2);
                s = Encoding.UTF8.GetString(_data.Slice(_at, length));
                _at += length;
                break;
            default:
                throw new InvalidDataException("unexpected string kind");
        }
        if (shared && !_namesInHeader && (_shared ??= []).Count < StateWriter.MaxShared)
        {
            _shared.Add(s);
        }
        return s;
    }

    public Dictionary<string, T> StringMap<T>(ReadValue<T> value, bool shared = false)
    {
        var n = Count();
        var map = new Dictionary<string, T>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var key = Read(shared);
            map[key] = value(ref this);
        }
        return map;
    }

    /// <summary>As <see cref="StringMap{T}"/>, keeping the written order (the entries' recency).</summary>
    public OrderedDictionary<string, T> OrderedStringMap<T>(ReadValue<T> value, bool shared = false)
    {
        var n = Count();
        var map = new OrderedDictionary<string, T>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var key = Read(shared);
            map[key] = value(ref this);
        }
        return map;
    }

    public readonly void End()
    {
        if (_at != _data.Length)
        {
            throw new InvalidDataException($"{_data.Length - _at} bytes after the user state");
        }
    }
}

internal delegate T ReadValue<T>(ref StateReader reader);
