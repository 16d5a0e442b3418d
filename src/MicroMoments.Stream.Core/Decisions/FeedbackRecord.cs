namespace MicroMoments.Stream.Core.Decisions;

/// <summary>
/// A response the engine counted for an intervention (or a held-out ghost's conversion): <see cref="Feedback"/> is
/// <c>delivered</c>, <c>displayed</c>, <c>clicked</c>, <c>dismissed</c> or <c>converted</c>. <c>simulate --decisions</c>
/// writes these beside the decisions so <c>report --decisions</c> has the rates (docs/cli.md).
/// </summary>
public sealed record FeedbackRecord(string UserId, string RuleId, string Variant, string Feedback, string InterventionId, DateTimeOffset At);
