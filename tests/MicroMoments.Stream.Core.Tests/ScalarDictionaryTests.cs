using System.Text;
using MicroMoments.Stream.Core.Events;

namespace MicroMoments.Stream.Core.Tests;

/// <summary>The events' scalar maps: a dictionary's answers in insertion order, from one array while small.</summary>
public sealed class ScalarDictionaryTests
{
    [Fact]
    public void Set_SameNameTwice_KeepsItsPlaceAndTakesTheLastValue()
    {
        var map = new ScalarDictionary(PropertyNames.Comparer);
        map.Set("cartId", "c1");
        map.Set("task", "t");
        map.Set("cart_id", "c2"); // the properties' comparer: the same name

        Assert.Equal(2, map.Count);
        Assert.Equal(["cartId", "task"], map.Keys);
        Assert.Equal("c2", map["cart_id"]);
        Assert.True(map.TryGetValue("CartId", out var v) && v == "c2");
        Assert.False(map.ContainsKey("missing"));
        Assert.Throws<KeyNotFoundException>(() => map["missing"]);
    }

    [Fact]
    public void Set_PastTheLinearLimit_AnswersAsADictionaryWithEveryName()
    {
        var map = new ScalarDictionary(StringComparer.Ordinal);
        var n = ScalarDictionary.LinearLimit * 4;
        for (var i = 0; i < n; i++)
        {
            map.Set($"k{i}", $"v{i}");
        }
        map.Set("k3", "again");

        Assert.Equal(n, map.Count);
        Assert.Equal("again", map["k3"]);
        Assert.Equal($"v{n - 1}", map[$"k{n - 1}"]);
        Assert.Equal(n, map.Select(e => e.Key).Distinct().Count());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(20)]
    public void RemoveWhere_KeepsTheOthersInOrder(int count)
    {
        var map = new ScalarDictionary(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            map.Set($"k{i}", $"v{i}");
        }

        map.RemoveWhere(name => name == "k1");

        Assert.Equal(count - 1, map.Count);
        Assert.False(map.ContainsKey("k1"));
        Assert.Equal("k0", map.Keys.First());
        Assert.Equal("v2", map["k2"]);
    }

    [Fact]
    public void Parse_ManyProperties_LastOccurrenceWinsAsBefore()
    {
        var props = string.Join(',', Enumerable.Range(0, 50).Select(i => $"\"p{i % 30}\":\"{i}\""));
        var json = "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\",\"properties\":{" + props
            + "},\"context\":{\"location\":{\"city\":\"Oslo\",\"street\":\"x\",\"country\":\"NO\"}}}";

        var e = new ClickEventParser(new ParserLimits()).Parse(Encoding.UTF8.GetBytes(json), null, new RecordSource("t", 0, 0, DateTimeOffset.UnixEpoch), DateTimeOffset.UtcNow).Event!;

        Assert.Equal(30, e.Properties.Count);
        Assert.Equal("49", e.Property("p19"));
        Assert.Equal("30", e.Property("p0"));
        Assert.Equal(["city", "country"], e.Location.Keys);
    }
}
