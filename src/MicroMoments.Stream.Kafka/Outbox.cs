using System.Text;
using Confluent.Kafka;
using MicroMoments.Stream.Core.Interventions;

namespace MicroMoments.Stream.Kafka;

/// <summary>
/// The outbox format: a shard's messages for one batch plus, per partition of the output topic, an offset
/// no later than where any of them can land (the producer's last acknowledged offset + 1 when written).
/// Recovery reads the output topic from those offsets to find which commands Kafka already has.
/// </summary>
public static class Outbox
{
    private const byte FormatVersion = 1;

    public static byte[] Encode(IReadOnlyDictionary<int, long> bounds, IReadOnlyCollection<Outbound> messages)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FormatVersion);
            w.Write7BitEncodedInt(bounds.Count);
            foreach (var (partition, offset) in bounds)
            {
                w.Write7BitEncodedInt(partition);
                w.Write7BitEncodedInt64(offset);
            }
            w.Write7BitEncodedInt(messages.Count);
            foreach (var m in messages)
            {
                w.Write(m.Topic);
                w.Write(m.InterventionId ?? "");
                WriteBytes(w, m.Message.Key);
                WriteBytes(w, m.Message.Value);
                var headers = m.Message.Headers ?? [];
                w.Write7BitEncodedInt(headers.Count);
                foreach (var h in headers)
                {
                    w.Write(h.Key);
                    WriteBytes(w, h.GetValueBytes());
                }
            }
        }
        return buffer.ToArray();
    }

    public static (Dictionary<int, long> Bounds, List<Outbound> Messages) Decode(byte[] blob)
    {
        using var r = new BinaryReader(new MemoryStream(blob), Encoding.UTF8);
        var version = r.ReadByte();
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"outbox format {version} is not {FormatVersion}");
        }
        var bounds = new Dictionary<int, long>();
        for (var i = r.Read7BitEncodedInt(); i > 0; i--)
        {
            bounds[r.Read7BitEncodedInt()] = r.Read7BitEncodedInt64();
        }
        var messages = new List<Outbound>();
        for (var i = r.Read7BitEncodedInt(); i > 0; i--)
        {
            var topic = r.ReadString();
            var id = r.ReadString();
            var message = new Message<byte[]?, byte[]?> { Key = ReadBytes(r), Value = ReadBytes(r), Headers = [] };
            for (var h = r.Read7BitEncodedInt(); h > 0; h--)
            {
                message.Headers.Add(r.ReadString(), ReadBytes(r));
            }
            messages.Add(new Outbound(topic, message, id.Length == 0 ? null : id));
        }
        return (bounds, messages);
    }

    private static void WriteBytes(BinaryWriter w, byte[]? bytes)
    {
        w.Write7BitEncodedInt(bytes is null ? -1 : bytes.Length);
        if (bytes is not null)
        {
            w.Write(bytes);
        }
    }

    private static byte[]? ReadBytes(BinaryReader r)
    {
        var length = r.Read7BitEncodedInt();
        return length < 0 ? null : r.ReadBytes(length);
    }
}
