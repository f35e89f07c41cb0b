using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Flotilla.Tests.Tls;

/// <summary>A CA and a server certificate it issued (for localhost and 127.0.0.1), written as the PEM files a user would pass.</summary>
public sealed class TestCertificates
{
    private TestCertificates(string caFile, string certificateFile, string keyFile, string fingerprint)
    {
        CaFile = caFile;
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        Fingerprint = fingerprint;
    }

    public string CaFile { get; }
    public string CertificateFile { get; }
    public string KeyFile { get; }
    public string Fingerprint { get; }

    public static TestCertificates Write(string directory, string name)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={name} test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name} server", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, now.AddHours(-1), now.AddDays(10), RandomNumberGenerator.GetBytes(8));

        Directory.CreateDirectory(directory);
        var caFile = Path.Combine(directory, $"{name}-ca.pem");
        var certificateFile = Path.Combine(directory, $"{name}-cert.pem");
        var keyFile = Path.Combine(directory, $"{name}-key.pem");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        File.WriteAllText(certificateFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new TestCertificates(caFile, certificateFile, keyFile, Flotilla.Tls.CertificateFingerprint.Of(server));
    }
}
