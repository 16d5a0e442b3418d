using System.Security.Cryptography;
using System.Text;

namespace MicroMoments.Stream.Core.Interventions;

/// <summary>
/// Deterministic intervention ids: the same user, rule and trigger always give the same id, on any
/// instance and after any restart, so delivery services can de-duplicate on it.
/// </summary>
public static class InterventionIds
{
    public static string Create(string userId, string ruleId, string triggerKey) => FromHash($"{userId}\n{ruleId}\n{triggerKey}");

    /// <summary>
    /// The id of a command's cancellation: the same after a redelivery or an outbox recovery, so delivery services can
    /// de-duplicate it too; a hash input of another shape than a command's, so never a command's id.
    /// </summary>
    public static string Cancellation(string interventionId) => FromHash($"cancelled\n{interventionId}");

    private static string FromHash(string input)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(input));
        var bytes = hash.AsSpan(0, 16).ToArray();
        // RFC 9562 version 8 (custom) with the RFC variant bits, so the id is a well-formed UUID.
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true).ToString();
    }
}
