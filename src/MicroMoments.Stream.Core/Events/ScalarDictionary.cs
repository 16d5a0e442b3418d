using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// An event's scalar map (properties, traits, location): the few names an event carries, in one array searched in
/// order, in insertion order; past <see cref="LinearLimit"/> names it moves to a <see cref="Dictionary{TKey,TValue}"/>, so
/// a hostile record with thousands of members costs no more than a dictionary would. The array starts with room for one
/// name and doubles: a one-name map (most events) is one object and a one-entry array, about a third of a dictionary's
/// bytes; at three or four names the two cost about the same.
/// </summary>
internal sealed class ScalarDictionary : IReadOnlyDictionary<string, string>
{
    /// <summary>Names searched one by one up to here; a dictionary beyond.</summary>
    public const int LinearLimit = 8;

    private readonly IEqualityComparer<string> _comparer;
    private KeyValuePair<string, string>[] _entries;
    private int _count;
    private Dictionary<string, string>? _large;

    public ScalarDictionary(IEqualityComparer<string> comparer, int capacity = 1)
    {
        _comparer = comparer;
        _entries = new KeyValuePair<string, string>[Math.Max(1, capacity)];
    }

    public int Count => _large?.Count ?? _count;

    /// <summary>Sets <paramref name="name"/> to <paramref name="value"/>; a name already there keeps its place and takes the new value.</summary>
    public void Set(string name, string value)
    {
        if (_large is not null)
        {
            _large[name] = value;
            return;
        }
        var at = IndexOf(name);
        if (at >= 0)
        {
            _entries[at] = new(_entries[at].Key, value);
            return;
        }
        if (_count == LinearLimit)
        {
            _large = new Dictionary<string, string>(LinearLimit * 2, _comparer);
            foreach (var (k, v) in _entries.AsSpan(0, _count))
            {
                _large[k] = v;
            }
            _large[name] = value;
            _entries = [];
            _count = 0;
            return;
        }
        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Min(LinearLimit, _entries.Length * 2));
        }
        _entries[_count++] = new(name, value);
    }

    /// <summary>Removes every name <paramref name="remove"/> says to, keeping the others' order.</summary>
    public void RemoveWhere(Func<string, bool> remove)
    {
        if (_large is not null)
        {
            foreach (var name in _large.Keys)
            {
                if (remove(name))
                {
                    _large.Remove(name); // allowed while enumerating a Dictionary
                }
            }
            return;
        }
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            if (!remove(_entries[i].Key))
            {
                _entries[kept++] = _entries[i];
            }
        }
        Array.Clear(_entries, kept, _count - kept);
        _count = kept;
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        if (_large is not null)
        {
            return _large.TryGetValue(key, out value);
        }
        var at = IndexOf(key);
        value = at >= 0 ? _entries[at].Value : null;
        return at >= 0;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public string this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"'{key}' is not in the map");

    public IEnumerable<string> Keys => this.Select(e => e.Key);

    public IEnumerable<string> Values => this.Select(e => e.Value);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        if (_large is not null)
        {
            return _large.GetEnumerator();
        }
        return Entries(_entries, _count);

        static IEnumerator<KeyValuePair<string, string>> Entries(KeyValuePair<string, string>[] entries, int count)
        {
            for (var i = 0; i < count; i++)
            {
                yield return entries[i];
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string name)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_comparer.Equals(_entries[i].Key, name))
            {
                return i;
            }
        }
        return -1;
    }
}
