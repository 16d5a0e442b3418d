using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MicroMoments.Stream.Worker.WebConsole;

/// <summary>What a console request gets: the page, or a refusal.</summary>
public enum ConsoleVerdict
{
    Allow,

    /// <summary>The token is required and was not sent: 401.</summary>
    Unauthorized,

    /// <summary>A token was sent and is wrong: 403.</summary>
    Forbidden,

    /// <summary>Listening beyond loopback with no token configured: the console does not exist (404).</summary>
    Off,
}

/// <summary>
/// Who may read the console. It shows user ids, traits and decisions: open only while every address the server
/// listens on is loopback; beyond that, only with the configured token, sent as <c>Authorization: Bearer</c> or as the
/// cookie that <c>?token=</c> sets.
/// </summary>
public static class ConsoleAccess
{
    public const string CookieName = "mm_console";
    public const string QueryName = "token";

    /// <summary>True when every address is loopback: "localhost", 127.0.0.0/8 or ::1. "+", "*" and 0.0.0.0 are every interface.</summary>
    public static bool LoopbackOnly(IEnumerable<string> addresses)
    {
        var any = false;
        foreach (var address in addresses)
        {
            any = true;
            if (!Uri.TryCreate(address.Replace("://+", "://any", StringComparison.Ordinal).Replace("://*", "://any", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            {
                return false;
            }
            var host = uri.Host.Trim('[', ']');
            if (!string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                && !(IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip)))
            {
                return false;
            }
        }
        return any;
    }

    public static ConsoleVerdict Decide(bool loopbackOnly, string? configuredToken, HttpRequest request)
    {
        if (loopbackOnly)
        {
            return ConsoleVerdict.Allow;
        }
        if (string.IsNullOrEmpty(configuredToken))
        {
            return ConsoleVerdict.Off;
        }
        var sent = SentToken(request);
        return sent is null ? ConsoleVerdict.Unauthorized : Matches(sent, configuredToken) ? ConsoleVerdict.Allow : ConsoleVerdict.Forbidden;
    }

    /// <summary>The token the request carries: the bearer header, else the query parameter, else the cookie.</summary>
    public static string? SentToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }
        if (request.Query.TryGetValue(QueryName, out var query) && query.ToString() is { Length: > 0 } q)
        {
            return q;
        }
        return request.Cookies.TryGetValue(CookieName, out var cookie) && cookie.Length > 0 ? cookie : null;
    }

    /// <summary>Compared in constant time, so response timing does not reveal how much of a guess was right.</summary>
    public static bool Matches(string sent, string configured) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
}
