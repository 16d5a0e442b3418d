using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// A steady clickstream: mostly feature use and views, with failing-task triples that trigger interventions.
/// Bodies are written with <see cref="Utf8JsonWriter"/> (the same JSON the contract's Segment shape has), cheaply,
/// because the load producer shares the machine with the worker it measures.
/// </summary>
public sealed class EventMix(int users, int seed, string userPrefix = "bench-u")
{
    private static readonly string[] Features = ["dashboard", "reports", "automations", "search", "exports", "api-keys"];
    private readonly Random _random = new(seed);
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly string[] _userIds = Enumerable.Range(0, users).Select(i => $"{userPrefix}{i}").ToArray();
    private long _sequence;
    private long _stampMs = -1;
    private string _stamp = "";

    /// <summary>The next event of the standard mix: 60 % feature use, 20 % a screen view, 20 % a failed task.</summary>
    public (string User, byte[] Body, string MessageId) Next(DateTimeOffset now) => Next(now, _random.Next(users), _random.Next(100));

    /// <summary>An event for the given user: <paramref name="roll"/> below 60 is a feature use, below 80 a screen view, else a failed task.</summary>
    public (string User, byte[] Body, string MessageId) Next(DateTimeOffset now, int user, int roll)
    {
        var userId = _userIds[user];
        // The user prefix makes ids unique across generators: the latency reader matches interventions to events by id.
        var id = userPrefix + "m" + (_sequence++).ToString(CultureInfo.InvariantCulture);
        _buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, roll < 60 || roll >= 80 ? "track"u8 : "screen"u8);
            if (roll is >= 60 and < 80)
            {
                w.WriteString("name"u8, "Home"u8);
            }
            else
            {
                w.WriteString("event"u8, roll < 60 ? "Feature Used"u8 : "Task Failed"u8);
            }
            w.WriteString("userId"u8, userId);
            w.WriteString("messageId"u8, id);
            w.WriteString("timestamp"u8, Stamp(now));
            if (roll is < 60 or >= 80)
            {
                w.WriteStartObject("properties"u8);
                if (roll < 60)
                {
                    w.WriteString("feature"u8, Features[_random.Next(Features.Length)]);
                }
                else
                {
                    w.WriteString("task"u8, "notifications-setup"u8);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return (userId, _buffer.WrittenSpan.ToArray(), id);
    }

    private string Stamp(DateTimeOffset now)
    {
        var ms = now.ToUnixTimeMilliseconds();
        if (ms != _stampMs)
        {
            _stampMs = ms;
            _stamp = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }
        return _stamp;
    }
}
