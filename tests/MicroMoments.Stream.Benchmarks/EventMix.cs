using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace MicroMoments.Stream.Benchmarks;

/// <summary>
/// A steady clickstream: mostly feature use and views, with failing-task triples that trigger interventions.
/// Bodies are written with <see cref="Utf8JsonWriter"/> (the same JSON the contract's Segment shape has), cheaply,
/// because the load producer shares the machine with the worker it measures.
/// With <paramref name="cartShare"/> (percent, default 0: the standard mix, unchanged) that share of events, taken
/// from the feature uses, are cart events (<see cref="CartEvent"/>), so the <c>cart-abandoned</c> absence rule fires too.
/// </summary>
public sealed class EventMix(int users, int seed, string userPrefix = "bench-u", int cartShare = 0)
{
    private static readonly string[] Features = ["dashboard", "reports", "automations", "search", "exports", "api-keys"];
    private readonly Random _random = new(seed);
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly string[] _userIds = Enumerable.Range(0, users).Select(i => $"{userPrefix}{i}").ToArray();
    // Per user: the open cart's number (its cartId is "c" + it) or -1 for none, and how many carts the user has opened.
    private readonly int[] _openCart = Enumerable.Repeat(-1, users).ToArray();
    private readonly int[] _carts = new int[users];
    private long _sequence;
    private long _stampMs = -1;
    private string _stamp = "";

    /// <summary>
    /// The next event of the standard mix: 60 % feature use, 20 % a screen view, 20 % a failed task; with a cart share,
    /// that many percent of the feature uses are cart events instead.
    /// </summary>
    public (string User, byte[] Body, string MessageId) Next(DateTimeOffset now)
    {
        var user = _random.Next(users);
        var roll = _random.Next(100);
        return roll < cartShare ? CartEvent(now, user) : Next(now, user, roll);
    }

    /// <summary>
    /// A cart event for the user: with no open cart, a <c>Product Added</c> that opens one; with one, half the time an
    /// <c>Order Completed</c> that closes it and half the time another <c>Product Added</c> to it (the absence restarts).
    /// So about half the carts are abandoned: they end with a <c>Product Added</c> and no order.
    /// </summary>
    public (string User, byte[] Body, string MessageId) CartEvent(DateTimeOffset now, int user)
    {
        var open = _openCart[user];
        var order = open >= 0 && _random.Next(2) == 0;
        if (open < 0)
        {
            open = _openCart[user] = _carts[user]++;
        }
        else if (order)
        {
            _openCart[user] = -1;
        }
        return Write(user, now, order ? "Order Completed"u8 : "Product Added"u8, "cartId"u8, "c" + open.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A <c>track</c> event of the given name for the user, with one string property.</summary>
    public (string User, byte[] Body, string MessageId) Track(DateTimeOffset now, int user, string name, string property, string value) =>
        Write(user, now, System.Text.Encoding.UTF8.GetBytes(name), System.Text.Encoding.UTF8.GetBytes(property), value);

    private (string User, byte[] Body, string MessageId) Write(int user, DateTimeOffset now, ReadOnlySpan<byte> name, ReadOnlySpan<byte> property, string value) =>
        Write(user, now, "track"u8, "event"u8, name, property, value);

    /// <summary>One event: its type, its name under <paramref name="nameKey"/>, and one string property unless <paramref name="value"/> is null.</summary>
    private (string User, byte[] Body, string MessageId) Write(int user, DateTimeOffset now, ReadOnlySpan<byte> type, ReadOnlySpan<byte> nameKey,
        ReadOnlySpan<byte> name, ReadOnlySpan<byte> property, string? value)
    {
        var userId = _userIds[user];
        // The user prefix makes ids unique across generators: the latency reader matches interventions to events by id.
        var id = userPrefix + "m" + (_sequence++).ToString(CultureInfo.InvariantCulture);
        _buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, type);
            w.WriteString(nameKey, name);
            w.WriteString("userId"u8, userId);
            w.WriteString("messageId"u8, id);
            w.WriteString("timestamp"u8, Stamp(now));
            if (value is not null)
            {
                w.WriteStartObject("properties"u8);
                w.WriteString(property, value);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return (userId, _buffer.WrittenSpan.ToArray(), id);
    }

    /// <summary>An event for the given user: <paramref name="roll"/> below 60 is a feature use, below 80 a screen view, else a failed task.</summary>
    public (string User, byte[] Body, string MessageId) Next(DateTimeOffset now, int user, int roll)
    {
        if (roll < 60)
        {
            return Write(user, now, "Feature Used"u8, "feature"u8, Features[_random.Next(Features.Length)]);
        }
        if (roll >= 80)
        {
            return Write(user, now, "Task Failed"u8, "task"u8, "notifications-setup");
        }
        return Write(user, now, "screen"u8, "name"u8, "Home"u8, default, null);
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
