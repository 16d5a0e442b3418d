namespace MicroMoments.Stream.Core.State;

/// <summary>
/// The feedback types an intervention can get, as flags on its <see cref="InterventionRecord"/>: each type counts once per
/// intervention, however many reports of it arrive (a double tap is one click).
/// </summary>
[Flags]
public enum FeedbackKinds : byte
{
    None = 0,
    Delivered = 1,
    Displayed = 2,
    Clicked = 4,
    Dismissed = 8,
    Converted = 16,
}

/// <summary>The feedback type of an <c>Intervention …</c> event's name, and back.</summary>
public static class FeedbackKindNames
{
    /// <summary>The type named by <paramref name="kind"/> (<c>clicked</c>, …), or <see cref="FeedbackKinds.None"/>.</summary>
    public static FeedbackKinds Parse(string? kind) => kind switch
    {
        "delivered" => FeedbackKinds.Delivered,
        "displayed" => FeedbackKinds.Displayed,
        "clicked" => FeedbackKinds.Clicked,
        "dismissed" => FeedbackKinds.Dismissed,
        "converted" => FeedbackKinds.Converted,
        _ => FeedbackKinds.None,
    };
}
