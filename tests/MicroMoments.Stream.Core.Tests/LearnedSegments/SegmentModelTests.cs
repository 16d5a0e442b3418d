using System.Text;
using MicroMoments.Stream.Core.Segments;
using MicroMoments.Stream.Core.State;

namespace MicroMoments.Stream.Core.Tests.LearnedSegments;

/// <summary>Nearest-centroid assignment and the segments file.</summary>
public sealed class SegmentModelTests
{
    /// <summary>Means 10, deviations 2 (failure rate: 0.5 and 0.1); two centroids apart on active days and failure rate.</summary>
    internal static SegmentModel TwoSegments(string version = "") => new(
        [10, 10, 10, 10, 10, 0.5, 10],
        [2, 2, 2, 2, 2, 0.1, 2],
        [[1, 0, 0, 0, 0, -1, 0], [-1, 0, 0, 0, 0, 1, 0]],
        ["active engager", "struggling"],
        version);

    [Theory]
    [InlineData(12, 0.4, 0)] // exactly the first centroid
    [InlineData(8, 0.6, 1)]  // exactly the second
    [InlineData(14, 0.65, 0)] // +2 sd days outweighs +1.5 sd failure rate
    [InlineData(10, 0.5, 0)] // equidistant: the lower index
    public void Nearest_RawFeatures_StandardisedBeforeDistance(double activeDays, double failureRate, int expected)
    {
        var model = TwoSegments();

        Assert.Equal(expected, model.Nearest([activeDays, 10, 10, 10, 10, failureRate, 10]));
    }

    [Fact]
    public void Assign_UserWithoutCounts_Null()
    {
        Assert.Null(TwoSegments().Assign(new UserState { UserId = "u" }, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void Constructor_ZeroDeviation_Refused()
    {
        Assert.Throws<ArgumentException>(() => new SegmentModel(new double[7], new double[7], [new double[7]], ["a"]));
    }

    [Fact]
    public void Write_ThenTryRead_SameModelToTheBit()
    {
        var model = new SegmentModel(
            [1 / 3.0, Math.PI, 1e-300, 17.216666666666665, 0.1 + 0.2, 1, 123456.789],
            [0.1, 2.3670774291424337, 1, 3, 5e-5, 1, 7],
            [[0.1 + 0.2, -1 / 7.0, 0, 1, 2, 3, 4], [-(0.1 + 0.2), 1 / 7.0, 0, -1, -2, -3, -4]],
            ["lapsed", "new user"]);
        var profiles = new[] { new SegmentProfile("lapsed", 3, new double[7]), new SegmentProfile("new user", 4, new double[7]) };
        var bytes = SegmentsFile.Write(model, profiles, DateTimeOffset.UnixEpoch, "events.ndjson");

        var read = SegmentsFile.TryRead(bytes, []);

        Assert.NotNull(read);
        Assert.Equal(model.Names, read.Names);
        Assert.Equal(model.Means, read.Means);
        Assert.Equal(model.StdDevs, read.StdDevs);
        Assert.Equal(model.Centroids.SelectMany(c => c), read.Centroids.SelectMany(c => c));
        Assert.Equal(16, read.Version.Length);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "{", "not JSON" },
        { "[]", "not a JSON object" },
        { Good().Replace("micromoments.segments.v1", "v0", StringComparison.Ordinal), "'format'" },
        { Good().Replace("\"tenureDays\"", "\"ageDays\"", StringComparison.Ordinal), "'features'" },
        { Good().Replace("\"stdDevs\": [2,", "\"stdDevs\": [0,", StringComparison.Ordinal), "above 0" },
        { Good().Replace("\"struggling\"", "\"active engager\"", StringComparison.Ordinal), "names two segments" },
        { Good().Replace("\"centroid\": [-1,", "\"centroid\": [", StringComparison.Ordinal), "segments[1].centroid" },
        { Good().Replace("\"segments\": [", "\"segments\": [] ,\"x\": [", StringComparison.Ordinal), "1 to 100 segments" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void TryRead_BadFile_RefusedWithTheReason(string text, string reason)
    {
        var errors = new List<string>();

        var model = SegmentsFile.TryRead(Encoding.UTF8.GetBytes(text), errors);

        Assert.Null(model);
        Assert.Contains(errors, e => e.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void TryRead_GoodFile_Model()
    {
        Assert.NotNull(SegmentsFile.TryRead(Encoding.UTF8.GetBytes(Good()), []));
    }

    /// <summary>The <see cref="TwoSegments"/> file as the command writes it, on one line per value.</summary>
    internal static string Good() => """
        {
          "format": "micromoments.segments.v1",
          "features": ["activeDays", "eventsPerActiveDay", "distinctFeatures", "avgSessionMinutes", "daysSinceLastActivity", "taskFailureRate", "tenureDays"],
          "means": [10, 10, 10, 10, 10, 0.5, 10],
          "stdDevs": [2, 2, 2, 2, 2, 0.1, 2],
          "segments": [
            { "name": "active engager", "centroid": [1, 0, 0, 0, 0, -1, 0] },
            { "name": "struggling", "centroid": [-1, 0, 0, 0, 0, 1, 0] }
          ]
        }
        """;
}
