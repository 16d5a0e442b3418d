using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace MicroMoments.Stream.Core.Segments;

/// <summary>One segment as the <c>segment</c> command found it: its name, how many users, and the mean of each raw feature.</summary>
public sealed record SegmentProfile(string Name, int Size, IReadOnlyList<double> Means);

/// <summary>
/// The segments file (docs/analytics.md, "Segments file"): JSON with the feature names, the standardisation and each segment's
/// name, size, profile and standardised centroid. Pure: bytes in, a model or the reasons it is refused out.
/// </summary>
public static class SegmentsFile
{
    public const string Format = "micromoments.segments.v1";

    /// <summary>Largest file read: a few segments take a few kilobytes.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Most segments a file may hold.</summary>
    public const int MaxSegments = 100;

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    public static byte[] Write(SegmentModel model, IReadOnlyList<SegmentProfile> profiles, DateTimeOffset referenceTime, string source)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("source", source);
            w.WriteString("referenceTime", referenceTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            Strings(w, "features", SegmentFeatures.Names);
            Numbers(w, "means", model.Means);
            Numbers(w, "stdDevs", model.StdDevs);
            w.WriteStartArray("segments");
            for (var c = 0; c < model.Names.Count; c++)
            {
                w.WriteStartObject();
                w.WriteString("name", model.Names[c]);
                w.WriteNumber("size", profiles[c].Size);
                w.WriteStartObject("profile");
                for (var i = 0; i < SegmentFeatures.Length; i++)
                {
                    w.WriteNumber(SegmentFeatures.Names[i], Math.Round(profiles[c].Means[i], 3));
                }
                w.WriteEndObject();
                Numbers(w, "centroid", model.Centroids[c]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The model in <paramref name="bytes"/>, or null with the reasons in <paramref name="errors"/>.</summary>
    public static SegmentModel? TryRead(ReadOnlySpan<byte> bytes, List<string> errors)
    {
        if (bytes.Length > MaxBytes)
        {
            errors.Add($"the file has {bytes.Length} bytes, more than {MaxBytes}");
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes.ToArray());
            return Read(doc.RootElement, errors, Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]);
        }
        catch (JsonException ex)
        {
            errors.Add($"not JSON: {ex.Message}");
            return null;
        }
    }

    private static SegmentModel? Read(JsonElement root, List<string> errors, string version)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add("the file is not a JSON object");
            return null;
        }
        if (!root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
        {
            errors.Add($"'format' must be \"{Format}\"");
        }
        var features = root.TryGetProperty("features", out var f) && f.ValueKind == JsonValueKind.Array
            ? f.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : null).ToList()
            : null;
        if (features is null || !features.SequenceEqual(SegmentFeatures.Names))
        {
            errors.Add($"'features' must be [{string.Join(", ", SegmentFeatures.Names)}] (this version's features, in this order)");
        }
        var means = NumberArray(root, "means", errors);
        var stdDevs = NumberArray(root, "stdDevs", errors);
        if (stdDevs is not null && stdDevs.Any(d => !(d > 0)))
        {
            errors.Add("'stdDevs' must all be above 0");
        }
        if (!root.TryGetProperty("segments", out var segments) || segments.ValueKind != JsonValueKind.Array
            || segments.GetArrayLength() is 0 or > MaxSegments)
        {
            errors.Add($"'segments' must be an array of 1 to {MaxSegments} segments");
            return null;
        }
        var names = new List<string>();
        var centroids = new List<double[]>();
        var index = 0;
        foreach (var s in segments.EnumerateArray())
        {
            var at = $"segments[{index++}]";
            if (s.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at} is not an object");
                continue;
            }
            var name = s.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add($"{at}.name must be a non-empty string");
            }
            else if (names.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"{at}.name '{name}' names two segments");
            }
            names.Add(name ?? "");
            centroids.Add(NumberArray(s, "centroid", errors, at + ".") ?? []);
        }
        return errors.Count > 0 ? null : new SegmentModel(means!, stdDevs!, [.. centroids], [.. names], version);
    }

    /// <summary>An array of finite numbers, one per feature.</summary>
    private static double[]? NumberArray(JsonElement parent, string name, List<string> errors, string at = "")
    {
        if (parent.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() == SegmentFeatures.Length
            && a.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number && double.IsFinite(x.GetDouble())))
        {
            return [.. a.EnumerateArray().Select(x => x.GetDouble())];
        }
        errors.Add($"'{at}{name}' must be an array of {SegmentFeatures.Length} finite numbers, one per feature");
        return null;
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    private static void Numbers(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteNumberValue(v);
        }
        w.WriteEndArray();
    }
}
