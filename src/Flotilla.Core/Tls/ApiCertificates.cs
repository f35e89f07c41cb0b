using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Flotilla.Tls;

/// <summary>
/// The API's certificate: the user's PEM files, or a self-signed one the server makes once and
/// keeps in its data directory (<c>tls/api.crt</c>, <c>tls/api.key</c> readable by its owner only),
/// so its fingerprint, which clients pin, stays the same across restarts.
/// </summary>
public static class ApiCertificates
{
    public const string DirectoryName = "tls";
    private static readonly TimeSpan Validity = TimeSpan.FromDays(5 * 365);

    /// <summary>Loads a certificate and its private key from PEM files, or says which file is wrong and why.</summary>
    public static X509Certificate2 LoadPem(string certificateFile, string keyFile)
    {
        foreach (var (file, flag) in new[] { (certificateFile, "--tls-cert"), (keyFile, "--tls-key") })
        {
            if (!File.Exists(file))
            {
                throw new TlsSetupException($"{flag} {file}: no such file; pass the PEM file of the API's {(flag == "--tls-cert" ? "certificate" : "private key")}");
            }
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or UnauthorizedAccessException or IOException)
        {
            throw new TlsSetupException(
                $"--tls-cert {certificateFile} with --tls-key {keyFile}: cannot be used ({e.Message.TrimEnd('.')}); both must be PEM "
                + "('-----BEGIN CERTIFICATE-----' and an unencrypted '-----BEGIN PRIVATE KEY-----', RSA or EC), and the key must be the certificate's");
        }
        if (!certificate.HasPrivateKey)
        {
            throw new TlsSetupException($"--tls-key {keyFile}: holds no private key of the certificate in {certificateFile}");
        }
        return Usable(certificate, $"--tls-cert {certificateFile}", "pass a current certificate");
    }

    /// <summary>
    /// The self-signed certificate of this data directory: the one made at an earlier start, or a
    /// new one (subject alternative names: the bound address unless it is any-address, the host
    /// name and localhost) made now and written before it is used.
    /// </summary>
    public static (X509Certificate2 Certificate, bool Created) SelfSigned(string dataDirectory, IPEndPoint listen, string hostName, DateTimeOffset now)
    {
        var directory = Path.Combine(dataDirectory, DirectoryName);
        var certificateFile = Path.Combine(directory, "api.crt");
        var keyFile = Path.Combine(directory, "api.key");
        const string remake = "delete it to make a new one at the next start (clients must then pin the new fingerprint)";
        if (File.Exists(certificateFile) && File.Exists(keyFile))
        {
            try
            {
                return (Usable(X509Certificate2.CreateFromPemFile(certificateFile, keyFile), certificateFile, remake, now), false);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new TlsSetupException($"the self-signed certificate {certificateFile} (key {keyFile}) cannot be read ({e.Message.TrimEnd('.')}); {remake}");
            }
        }
        var certificate = Create(listen, hostName, now);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The key is written readable by its owner from its first byte, never widened afterwards.
        WriteNew(keyFile, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        WriteNew(certificateFile, certificate.ExportCertificatePem());
        return (certificate, true);
    }

    private static X509Certificate2 Create(IPEndPoint listen, string hostName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Flotilla API on {hostName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (!listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
        {
            names.AddIpAddress(listen.Address);
        }
        names.AddDnsName(hostName);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        return request.CreateSelfSigned(now.AddDays(-1), now + Validity);
    }

    private static void WriteNew(string path, string text)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static X509Certificate2 Usable(X509Certificate2 certificate, string what, string fix, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        if (at < certificate.NotBefore || at > certificate.NotAfter)
        {
            throw new TlsSetupException($"{what}: the certificate is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}, not now; {fix}");
        }
        return certificate;
    }
}
