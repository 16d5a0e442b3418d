using System.Security.Cryptography;
using System.Text;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// Deterministic intervention ids: the same user, rule and trigger always give the same id, on any
/// instance and after any restart, so delivery services can de-duplicate on it.
/// </summary>
public static class InterventionIds
{
    public static string Create(string userId, string ruleId, string triggerKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{userId}\n{ruleId}\n{triggerKey}"));
        var bytes = hash.AsSpan(0, 16).ToArray();
        // RFC 9562 version 8 (custom) with the RFC variant bits, so the id is a well-formed UUID.
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true).ToString();
    }
}
