namespace MicroMoments.Stream.Core.Events;

/// <summary>Why a record cannot be processed; the value of the dead letter's <c>mm.error.reason</c> header.</summary>
public static class RejectReasons
{
    public const string MalformedJson = "malformed_json";
    public const string MissingUserId = "missing_user_id";
    public const string Oversized = "oversized";
    public const string FutureTimestamp = "future_timestamp";
    public const string InvalidTimestamp = "invalid_timestamp";
    public const string InvalidEvent = "invalid_event";
    public const string RuleError = "rule_error";

    /// <summary>The body names no user and the record key, which would name one, is not valid UTF-8.</summary>
    public const string InvalidKey = "invalid_key";

    /// <summary>The user id (or an alias's <c>previousId</c>) is longer than <see cref="ParserLimits.MaxUserIdBytes"/>.</summary>
    public const string UserIdTooLong = "user_id_too_long";

    /// <summary>Not a record: a user's stored state that cannot be read, quarantined (the dead letter's value is its bytes).</summary>
    public const string StateUnreadable = "state_unreadable";
}

/// <summary>The outcome of parsing one record: an event, or a reason and message for the dead letter.</summary>
public readonly record struct ParseResult(ClickEvent? Event, string? Reason, string? Error)
{
    public bool IsValid => Event is not null;

    public static ParseResult Ok(ClickEvent e) => new(e, null, null);

    public static ParseResult Reject(string reason, string message) => new(null, reason, message);
}
