using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MicroMoments.Stream.Worker.Demo;

/// <summary>
/// What the demo's stand-in delivery service reports for one command, and how long after its delivery time:
/// a hash of the intervention id decides, so a run is reproducible. Of all commands about 95 % are delivered and
/// 70 % displayed; 15–30 % are clicked (the share depends on the rule and variant, so experiment arms differ),
/// 10 % dismissed, and a third of the clicks convert. <see cref="Personas.Skeptic"/> dismisses everything.
/// </summary>
public static class DeliveryPlan
{
    public const double Delivered = 0.95;
    public const double Displayed = 0.70;
    public const double Dismissed = 0.10;
    public const double ConvertedOfClicked = 1.0 / 3;

    /// <summary>One feedback event: its name (<c>Intervention Clicked</c>, …) and its delay after the delivery time.</summary>
    public sealed record Step(string Event, TimeSpan After);

    public static IReadOnlyList<Step> For(string interventionId, string userId, string ruleId, string variant)
    {
        if (userId == Personas.Skeptic)
        {
            return [new("Intervention Delivered", TimeSpan.FromSeconds(1)), new("Intervention Displayed", TimeSpan.FromSeconds(2)),
                new("Intervention Dismissed", TimeSpan.FromSeconds(3))];
        }
        double U(string salt) => Uniform($"{interventionId}\n{salt}");
        var steps = new List<Step>();
        if (U("delivered") >= Delivered)
        {
            return steps;
        }
        steps.Add(new Step("Intervention Delivered", TimeSpan.FromSeconds(1)));
        if (U("displayed") >= Displayed / Delivered)
        {
            return steps;
        }
        steps.Add(new Step("Intervention Displayed", TimeSpan.FromSeconds(2)));
        var click = ClickShare(ruleId, variant);
        var response = U("response") * Displayed; // a point in the displayed share of all commands
        var after = TimeSpan.FromSeconds(3 + 5 * U("delay"));
        if (response < click)
        {
            steps.Add(new Step("Intervention Clicked", after));
            if (U("converted") < ConvertedOfClicked)
            {
                steps.Add(new Step("Intervention Converted", after + TimeSpan.FromSeconds(10)));
            }
        }
        else if (response < click + Dismissed)
        {
            steps.Add(new Step("Intervention Dismissed", after));
        }
        return steps;
    }

    /// <summary>The share of all commands of a rule and variant that are clicked: between 15 and 30 %.</summary>
    public static double ClickShare(string ruleId, string variant) => 0.15 + 0.15 * Uniform($"{ruleId}\n{variant}");

    private static double Uniform(string key) =>
        (BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key))) >> 11) * (1.0 / (1UL << 53));
}
