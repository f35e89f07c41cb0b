using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Flotilla.Tls;

/// <summary>
/// A certificate's SHA-256 fingerprint, written <c>SHA256:AB:CD:...</c> (the digits openssl
/// prints with <c>x509 -fingerprint -sha256</c>, so a user can compare them by eye).
/// </summary>
public static class CertificateFingerprint
{
    public const string Prefix = "SHA256:";

    public static string Of(X509Certificate certificate) =>
        Prefix + Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b);

    /// <summary>
    /// The 64 lowercase hex digits of a fingerprint written with or without the prefix, colons or
    /// either case; null when it is not one (the message then shows what one looks like).
    /// </summary>
    public static string? Normalize(string text)
    {
        var digits = text.Trim();
        if (digits.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[Prefix.Length..];
        }
        digits = digits.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        return digits.Length == 64 && digits.All(Uri.IsHexDigit) ? digits : null;
    }

    public static bool Matches(X509Certificate certificate, string pinned) =>
        Normalize(pinned) is { } expected && Normalize(Of(certificate)) == expected;
}
