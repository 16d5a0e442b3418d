namespace MicroMoments.Stream.Core.Events;

/// <summary>
/// Maps <c>context.device.type</c> as Segment's libraries and other producers send it to the device classes rules
/// pick channels by. Segment's mobile libraries send the platform (<c>ios</c>, <c>android</c>), analytics.js sends
/// none or a browser-ish value; anything not listed is kept, lower-cased, so a rule can still name it.
/// </summary>
public static class DeviceTypes
{
    public const string Mobile = "mobile";
    public const string Tablet = "tablet";
    public const string Desktop = "desktop";

    public static string? Normalize(string? type) => type?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "mobile" or "ios" or "android" or "phone" or "smartphone" or "iphone" or "ipod" => Mobile,
        "tablet" or "ipad" => Tablet,
        "desktop" or "web" or "browser" or "pc" or "laptop" or "computer" or "macos" or "mac" or "windows" or "linux" => Desktop,
        var other => other,
    };
}
